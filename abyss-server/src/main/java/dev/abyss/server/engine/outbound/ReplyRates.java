package dev.abyss.server.engine.outbound;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Reply rate per source prefix, shared by every acceptor: one {@code int} per bucket of a
 * fixed-size table (4 bytes: 4 MiB for the default 2^20 buckets, half what a {@code long} took,
 * so more of it stays in the caches), the bucket's <em>theoretical arrival time</em> (GCRA, the
 * token bucket as one timestamp): a reply is allowed when, after it, the bucket's time is at most
 * {@code burst} intervals ahead of now, and then moves the time one interval on. An idle bucket
 * falls behind now, which is a full burst again: nothing to decay, nothing to sweep. O(1), no
 * allocation; one compare-and-set per reply, retried a bounded number of times (a bucket that
 * keeps changing under it is counted over its limit: stricter, never looser).
 *
 * <p>Time is counted in intervals (1 / rate: one reply's worth) since the table was made, and a
 * bucket keeps the low 32 bits of its time. A bucket is read relative to now: 1..{@code burst}
 * intervals ahead is a budget in use; anything else is behind now (idle, or never used), a full
 * burst. A bucket left idle for 2^32 − {@code burst} intervals or more (at 200 replies/s, 248
 * days; at 10^9/s, 4 s) may read as partly in use again: at most its burst, once, fewer replies,
 * never more. Any thread.
 */
public final class ReplyRates {
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(int[].class);
    private static final int CAS_TRIES = 4;

    private final int[] slots;
    private final long intervalNanos;
    private final int burst;
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
        this.slots = new int[buckets];
        this.intervalNanos = Math.max(1, 1_000_000_000L / repliesPerSecond);
        this.burst = burst;
    }

    /** {@return {@code System.nanoTime()} as this table counts time: intervals since it was made} */
    public long clock(long nanoTime) {
        return since(nanoTime - origin);
    }

    /** {@return {@code nanos} since the table was made, in intervals} */
    long since(long nanos) {
        return nanos / intervalNanos;
    }

    /**
     * Takes one reply from {@code bucket}'s budget at {@code now} ({@link #clock}); false (and
     * nothing taken) when it is over its rate.
     */
    public boolean tryTake(int bucket, long now) {
        int t = (int) now;
        for (int i = 0; i < CAS_TRIES; i++) {
            int tat = (int) SLOTS.getOpaque(slots, bucket);
            int ahead = ahead(tat, t);
            if (ahead >= burst) {
                return false;
            }
            if (SLOTS.compareAndSet(slots, bucket, tat, t + ahead + 1)) {
                return true;
            }
        }
        return false;
    }

    /** {@return true when a reply from {@code bucket} at {@code now} would be refused (takes nothing)} */
    public boolean over(int bucket, long now) {
        return ahead((int) SLOTS.getOpaque(slots, bucket), (int) now) >= burst;
    }

    /** {@return how many intervals {@code tat} is ahead of {@code now}: 0..burst, 0 when it is behind} */
    private int ahead(int tat, int now) {
        int ahead = tat - now; // modulo 2^32: a time behind now reads as more than any burst (see the class comment)
        return Integer.compareUnsigned(ahead, burst) <= 0 ? ahead : 0;
    }
}
