package dev.abyss.server.engine.admission;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.prefix.Prefixes;

import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The per-prefix session quota, shared by every acceptor: live sessions per bucket of the keyed
 * prefix table, at most {@code perPrefix} each. A place is reserved (compare-and-set, so two
 * acceptors cannot both take the last one) before a session opens and released when it ends.
 * Prefixes that share a bucket share its quota: stricter, never looser. Any thread.
 */
public final class PrefixQuota {
    private final Prefixes prefixes;
    private final int perPrefix;
    private final AtomicIntegerArray live;

    /**
     * @param prefixes  the prefix rules and the table's size
     * @param perPrefix the most live sessions per prefix, at least 1
     */
    public PrefixQuota(Prefixes prefixes, int perPrefix) {
        if (perPrefix < 1) {
            throw new IllegalArgumentException("sessions per prefix must be at least 1, was " + perPrefix);
        }
        this.prefixes = prefixes;
        this.perPrefix = perPrefix;
        this.live = new AtomicIntegerArray(prefixes.buckets());
    }

    /** {@return the prefix rules} */
    public Prefixes prefixes() {
        return prefixes;
    }

    /** {@return true when {@code bucket} (not -1) is at its quota now} */
    public boolean full(int bucket) {
        return live.get(bucket) >= perPrefix;
    }

    /** Takes a place in {@code bucket}; false when it is at its quota. */
    public boolean tryReserve(int bucket) {
        while (true) {
            int n = live.get(bucket);
            if (n >= perPrefix) {
                return false;
            }
            if (live.compareAndSet(bucket, n, n + 1)) {
                return true;
            }
        }
    }

    /** Gives a place of {@code bucket} back. */
    public void release(int bucket) {
        live.decrementAndGet(bucket);
    }

    /** {@return the live sessions counted in {@code peer}'s bucket (tests, diagnostics)} */
    public int live(PeerKey peer) {
        int b = prefixes.bucketOf(peer);
        return b < 0 ? 0 : live.get(b);
    }
}
