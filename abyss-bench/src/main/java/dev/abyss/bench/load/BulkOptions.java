package dev.abyss.bench.load;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A bulk load: {@code peers} sockets, each keeping {@code window} requests in flight, each request
 * answered with {@code replies} datagrams of {@link Bulk#SEGMENT} bytes; for {@code duration} or
 * until {@code count} requests are answered in full. {@code gro}: the client sockets take UDP_GRO
 * coalesced receives (64 KiB buffers) and split them at the kernel's segment size.
 */
public record BulkOptions(InetSocketAddress target, int peers, int window, int replies, boolean gro, Duration duration,
                          long count, boolean progress) {
    public BulkOptions {
        if (peers < 1 || peers > 1024) {
            throw new IllegalArgumentException("--peers must be 1..1024 in bulk mode, was " + peers);
        }
        if (window < 1 || window > 16) {
            throw new IllegalArgumentException("--window must be 1..16 in bulk mode (requests in flight per peer), was " + window);
        }
        if (replies < 1 || replies > Bulk.MAX_REPLIES) {
            throw new IllegalArgumentException("--bulk must be 1.." + Bulk.MAX_REPLIES + " replies per request, was " + replies);
        }
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("--duration must be positive, was " + duration);
        }
        if (count < 0) {
            throw new IllegalArgumentException("--count must not be negative");
        }
    }

    public static BulkOptions of(InetSocketAddress target, int peers, int window, int replies, boolean gro, Duration duration) {
        return new BulkOptions(target, peers, window, replies, gro, duration, 0, false);
    }

    public BulkOptions withDuration(Duration d) {
        return new BulkOptions(target, peers, window, replies, gro, d, count, progress);
    }
}
