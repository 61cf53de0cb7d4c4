package dev.abyss.server.engine.outbound;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Reply rate per source prefix, shared by every acceptor: one {@code long} per bucket of a
 * fixed-size table, the bucket's <em>theoretical arrival time</em> (GCRA, the token bucket as one
 * timestamp): a reply is allowed when, after it, the bucket's time is at most {@code burst}
 * intervals ahead of now, and then moves the time one interval on. An idle bucket falls behind
 * now, which is a full burst again: nothing to decay, nothing to sweep. O(1), no allocation; one
 * compare-and-set per reply, retried a bounded number of times (a bucket that keeps changing under
 * it is counted over its limit: stricter, never looser).
 *
 * <p>Times are nanoseconds since the table was made (so a fresh bucket, 0, is always behind now).
 * Any thread.
 */
public final class ReplyRates {
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int CAS_TRIES = 4;

    private final long[] slots;
    private final long intervalNanos;
    private final long burstNanos;
    private final long origin = System.nanoTime();

    /**
     * @param repliesPerSecond the sustained rate per bucket, at least 1
     * @param burst            replies a bucket may send at once after it was idle, at least 1
     * @param buckets          the table's size (a power of two, from {@link dev.abyss.server.engine.prefix.Prefixes#buckets()})
     */
    public ReplyRates(int repliesPerSecond, int burst, int buckets) {
        if (repliesPerSecond < 1 || burst < 1) {
            throw new IllegalArgumentException("rate and burst must be at least 1, were " + repliesPerSecond + " and " + burst);
        }
        this.slots = new long[buckets];
        this.intervalNanos = Math.max(1, 1_000_000_000L / repliesPerSecond);
        this.burstNanos = intervalNanos * burst;
    }

    /** {@return {@code System.nanoTime()} as this table counts time} */
    public long clock(long nanoTime) {
        return nanoTime - origin;
    }

    /**
     * Takes one reply from {@code bucket}'s budget at {@code now} ({@link #clock}); false (and
     * nothing taken) when it is over its rate.
     */
    public boolean tryTake(int bucket, long now) {
        for (int i = 0; i < CAS_TRIES; i++) {
            long tat = (long) SLOTS.getOpaque(slots, bucket);
            long next = Math.max(tat, now) + intervalNanos;
            if (next - now > burstNanos) {
                return false;
            }
            if (SLOTS.compareAndSet(slots, bucket, tat, next)) {
                return true;
            }
        }
        return false;
    }

    /** {@return true when a reply from {@code bucket} at {@code now} would be refused (takes nothing)} */
    public boolean over(int bucket, long now) {
        long tat = (long) SLOTS.getOpaque(slots, bucket);
        return Math.max(tat, now) + intervalNanos - now > burstNanos;
    }
}
