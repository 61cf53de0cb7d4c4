package dev.abyss.server.engine.telemetry;

import dev.abyss.server.ServerStats.Counter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One acceptor's counters: written only by its thread (plain read, opaque write), read by any
 * thread with opaque loads, summed by the server on {@code stats()}. No locks, no contention.
 */
public final class Counters {
    public static final int DATAGRAMS_IN = index(Counter.DATAGRAMS_IN);
    public static final int BYTES_IN = index(Counter.BYTES_IN);
    public static final int DATAGRAMS_OUT = index(Counter.DATAGRAMS_OUT);
    public static final int BYTES_OUT = index(Counter.BYTES_OUT);
    public static final int SESSIONS_OPENED = index(Counter.SESSIONS_OPENED);
    public static final int SESSIONS_CLOSED = index(Counter.SESSIONS_CLOSED);
    public static final int DROPPED_TABLE_FULL = index(Counter.DROPPED_TABLE_FULL);
    public static final int DROPPED_MAILBOX_FULL = index(Counter.DROPPED_MAILBOX_FULL);
    public static final int DROPPED_SUSPENDED = index(Counter.DROPPED_SUSPENDED);
    public static final int TRUNCATED = index(Counter.TRUNCATED);
    public static final int SEND_QUEUE_FULL = index(Counter.SEND_QUEUE_FULL);
    public static final int SEND_ERRORS = index(Counter.SEND_ERRORS);
    public static final int RECEIVE_ERRORS = index(Counter.RECEIVE_ERRORS);
    public static final int HANDLER_ERRORS = index(Counter.HANDLER_ERRORS);
    public static final int DROPPED_SESSION_ENDED = index(Counter.DROPPED_SESSION_ENDED);
    public static final int ACCEPTOR_FAILURES = index(Counter.ACCEPTOR_FAILURES);
    public static final int KERNEL_DROPS = index(Counter.KERNEL_DROPS);
    public static final int UNREACHABLE = index(Counter.UNREACHABLE);
    public static final int SESSIONS_UNREACHABLE = index(Counter.SESSIONS_UNREACHABLE);
    public static final int EVICTED = index(Counter.EVICTED);
    public static final int GSO_SENDS = index(Counter.GSO_SENDS);
    public static final int GSO_SEGMENTS = index(Counter.GSO_SEGMENTS);
    public static final int GRO_RECEIVES = index(Counter.GRO_RECEIVES);
    public static final int GRO_SEGMENTS = index(Counter.GRO_SEGMENTS);
    /** One slot per public counter, same order: the server's snapshot is a sum, nothing to map. */
    public static final int COUNT = Counter.values().length;

    private static int index(Counter c) {
        return c.ordinal();
    }

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    // padded so two acceptors' counters never share a cache line
    private final long[] values = new long[COUNT + 16];

    /** Adds this acceptor's counters to {@code sum} (one slot per {@link Counter}). */
    public void addTo(long[] sum) {
        for (int i = 0; i < COUNT; i++) {
            sum[i] += get(i);
        }
    }

    /** Owner thread only. */
    public void add(int counter, long delta) {
        int i = counter + 8;
        LONGS.setOpaque(values, i, values[i] + delta);
    }

    public void increment(int counter) {
        add(counter, 1);
    }

    /** Any thread. */
    public long get(int counter) {
        return (long) LONGS.getOpaque(values, counter + 8);
    }
}
