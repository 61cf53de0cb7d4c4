package dev.abyss.bench.load;

import java.util.Locale;

/**
 * What a bulk run measured. {@code requests}: sent; {@code completed}: answered with every reply;
 * {@code lost}: not answered in full within the timeout; {@code late}: reply datagrams of a
 * request already counted lost (not counted in bytes); {@code corrupt}: reply datagrams that fail
 * the check; {@code datagrams} / {@code bytes}: intact reply datagrams and their payload bytes;
 * {@code receives}: kernel receives that carried them (fewer than datagrams with GRO);
 * latencies (µs) from a request's send to its last reply.
 */
public record BulkResult(long requests, long completed, long lost, long late, long corrupt, long datagrams, long bytes,
                         long receives, double seconds, int replies, boolean gro,
                         double p50Micros, double p99Micros, double maxMicros) {

    public double megabytesPerSecond() {
        return bytes / seconds / 1e6;
    }

    public double datagramsPerSecond() {
        return datagrams / seconds;
    }

    public String table() {
        return String.format(Locale.ROOT, """
                received    %,d reply datagrams (%,d bytes) in %.1f s: %,.1f MB/s, %,.0f datagrams/s, %.1f per receive%s
                requests    %,d sent (%d replies of %d B each), %,d answered in full, %,d lost   late %,d   corrupt %,d
                latency µs  (request to last reply) p50 %.1f   p99 %.1f   max %.1f""",
                datagrams, bytes, seconds, megabytesPerSecond(), datagramsPerSecond(),
                receives == 0 ? 0.0 : datagrams / (double) receives, gro ? " (UDP_GRO)" : "",
                requests, replies, Bulk.SEGMENT, completed, lost, late, corrupt, p50Micros, p99Micros, maxMicros);
    }

    public String json() {
        return String.format(Locale.ROOT, "{\"requests\":%d,\"completed\":%d,\"lost\":%d,\"late\":%d,\"corrupt\":%d,"
                        + "\"datagrams\":%d,\"bytes\":%d,\"receives\":%d,\"seconds\":%.3f,\"replies\":%d,\"segment\":%d,\"gro\":%b,"
                        + "\"mb_per_second\":%.3f,\"datagrams_per_second\":%.1f,\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}",
                requests, completed, lost, late, corrupt, datagrams, bytes, receives, seconds, replies, Bulk.SEGMENT, gro,
                megabytesPerSecond(), datagramsPerSecond(), p50Micros, p99Micros, maxMicros);
    }
}
