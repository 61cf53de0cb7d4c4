package dev.abyss.server.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One acceptor's counters: written only by its thread (plain read, opaque write), read by any
 * thread with opaque loads, summed by the server on {@code stats()}. No locks, no contention.
 */
final class Counters {
    static final int DATAGRAMS_IN = 0;
    static final int BYTES_IN = 1;
    static final int DATAGRAMS_OUT = 2;
    static final int BYTES_OUT = 3;
    static final int SESSIONS_OPENED = 4;
    static final int SESSIONS_CLOSED = 5;
    static final int DROPPED_TABLE_FULL = 6;
    static final int DROPPED_MAILBOX_FULL = 7;
    static final int DROPPED_SUSPENDED = 8;
    static final int TRUNCATED = 9;
    static final int SEND_QUEUE_FULL = 10;
    static final int SEND_ERRORS = 11;
    static final int RECEIVE_ERRORS = 12;
    static final int HANDLER_ERRORS = 13;
    static final int DROPPED_SESSION_ENDED = 14;
    static final int ACCEPTOR_FAILURES = 15;
    static final int COUNT = 16;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    // padded so two acceptors' counters never share a cache line
    private final long[] values = new long[COUNT + 16];

    /** Owner thread only. */
    void add(int counter, long delta) {
        int i = counter + 8;
        LONGS.setOpaque(values, i, values[i] + delta);
    }

    void increment(int counter) {
        add(counter, 1);
    }

    /** Any thread. */
    long get(int counter) {
        return (long) LONGS.getOpaque(values, counter + 8);
    }
}
