package dev.abyss.bench.load;

import java.util.Locale;

/**
 * What a load run measured. Latencies are in microseconds. {@code clientBytesPerEcho}: heap the
 * generator's own worker threads allocated per echo over the run (NaN: not measured), to show it
 * is not what limits the run (over DTLS it is the JDK engine's per-record allocation).
 */
public record LoadResult(long sent, long echoed, long lost, long reordered, long corrupt, double seconds, int size,
                         double p50Micros, double p99Micros, double p999Micros, double maxMicros, double clientBytesPerEcho) {

    /** A result without the generator's allocation (NaN). */
    public LoadResult(long sent, long echoed, long lost, long reordered, long corrupt, double seconds, int size,
                      double p50Micros, double p99Micros, double p999Micros, double maxMicros) {
        this(sent, echoed, lost, reordered, corrupt, seconds, size, p50Micros, p99Micros, p999Micros, maxMicros, Double.NaN);
    }

    public double echoesPerSecond() {
        return echoed / seconds;
    }

    public double megabytesPerSecond() {
        return echoed * (double) size / seconds / 1e6;
    }

    public String table() {
        return String.format(Locale.ROOT, """
                echoed      %,d datagrams in %.1f s: %,.0f/s, %.1f MB/s
                sent        %,d   lost %,d   reordered %,d   corrupt %,d
                latency µs  p50 %.1f   p99 %.1f   p99.9 %.1f   max %.1f""",
                echoed, seconds, echoesPerSecond(), megabytesPerSecond(), sent, lost, reordered, corrupt,
                p50Micros, p99Micros, p999Micros, maxMicros)
                + (Double.isNaN(clientBytesPerEcho) ? "" : String.format(Locale.ROOT, "%ngenerator   %,.0f B allocated per echo", clientBytesPerEcho));
    }

    public String json() {
        return String.format(Locale.ROOT, "{\"sent\":%d,\"echoed\":%d,\"lost\":%d,\"reordered\":%d,\"corrupt\":%d,"
                        + "\"seconds\":%.3f,\"size\":%d,\"echoes_per_second\":%.1f,\"mb_per_second\":%.3f,"
                        + "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p99_9\":%.1f,\"max\":%.1f}}",
                sent, echoed, lost, reordered, corrupt, seconds, size, echoesPerSecond(), megabytesPerSecond(),
                p50Micros, p99Micros, p999Micros, maxMicros);
    }
}
