package dev.abyss.bench.load;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * What the load generator does: {@code peers} sockets (each its own source port, optionally spread
 * over 127.x.y.z), each keeping {@code window} datagrams of {@code size} bytes in flight, for
 * {@code duration} or until {@code count} echoes, optionally paced to {@code rate} datagrams per
 * second in total. With {@code dtls} (null: plaintext), each peer speaks DTLS 1.2 through its own
 * client engine: one handshake per peer before the measured window, then every datagram a record.
 */
public record LoadOptions(InetSocketAddress target, int peers, int window, int size, Duration duration, long count,
                          long rate, boolean spreadSources, int threads, boolean progress, DtlsClient dtls) {
    public static final int MIN_SIZE = Payload.HEADER;
    public static final int MAX_SIZE = 65_507;
    /** The largest payload of one DTLS record (2^14). */
    public static final int MAX_DTLS_SIZE = 16_384;

    public LoadOptions {
        if (peers < 1 || peers > 60_000) {
            throw new IllegalArgumentException("--peers must be 1..60000, was " + peers);
        }
        if (window < 1 || window > 4096) {
            throw new IllegalArgumentException("--window must be 1..4096, was " + window);
        }
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("--size must be " + MIN_SIZE + ".." + MAX_SIZE + " bytes (a sequence header needs "
                    + MIN_SIZE + "), was " + size);
        }
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("--duration must be positive, was " + duration);
        }
        if (count < 0 || rate < 0) {
            throw new IllegalArgumentException("--count and --rate must not be negative");
        }
        if (threads < 1 || threads > peers) {
            throw new IllegalArgumentException("--threads must be 1..peers (" + peers + "), was " + threads);
        }
        if (dtls != null && size > MAX_DTLS_SIZE) {
            throw new IllegalArgumentException("--size must be at most " + MAX_DTLS_SIZE + " bytes with --dtls (one record), was " + size);
        }
    }

    /** Plaintext options. */
    public LoadOptions(InetSocketAddress target, int peers, int window, int size, Duration duration, long count,
                       long rate, boolean spreadSources, int threads, boolean progress) {
        this(target, peers, window, size, duration, count, rate, spreadSources, threads, progress, null);
    }

    public static LoadOptions of(InetSocketAddress target, int peers, int window, int size, Duration duration) {
        return new LoadOptions(target, peers, window, size, duration, 0, 0, peers > 1000, 1, false);
    }

    public LoadOptions withRate(long pps) {
        return new LoadOptions(target, peers, window, size, duration, count, pps, spreadSources, threads, progress, dtls);
    }

    /** These options over DTLS through {@code client} (null: plaintext). */
    public LoadOptions withDtls(DtlsClient client) {
        return new LoadOptions(target, peers, window, size, duration, count, rate, spreadSources, threads, progress,
                client == null ? null : client.forPayload(size));
    }

    /** These options for {@code d}. */
    public LoadOptions withDuration(Duration d) {
        return new LoadOptions(target, peers, window, size, d, count, rate, spreadSources, threads, progress, dtls);
    }
}
