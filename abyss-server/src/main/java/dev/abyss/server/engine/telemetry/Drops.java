package dev.abyss.server.engine.telemetry;

import dev.abyss.ffi.net.PeerKey;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The one place a drop is counted: every datagram or message the engine does not deliver or
 * cannot send goes through {@link #drop} (on the acceptor thread) or {@link #dropFromAnyThread}
 * (a sending or posting thread), which counts it under its {@link Drop cause} and reports it to JFR
 * ({@code dev.abyss.Drop}); a new peer refused by a full table is also telemetry's {@code spawn_error}.
 */
public final class Drops {
    private final Counters counters;
    private final long acceptorSpan;
    /** Drops counted by threads other than the acceptor's (atomic: they race). */
    private final AtomicLongArray foreign = new AtomicLongArray(Counters.COUNT);

    /**
     * @param counters     the acceptor's counters (written on its thread only)
     * @param acceptorSpan the acceptor's telemetry span, the parent of spawn_error events
     */
    public Drops(Counters counters, long acceptorSpan) {
        this.counters = counters;
        this.acceptorSpan = acceptorSpan;
    }

    /** Acceptor thread: {@code bytes} for {@code peer} (null: unknown) dropped because of {@code cause}. */
    public void drop(Drop cause, PeerKey peer, long bytes) {
        drop(cause, peer, bytes, null);
    }

    /** {@link #drop(Drop, PeerKey, long)} with a detail for JFR (e.g. the errno of a failed send). */
    public void drop(Drop cause, PeerKey peer, long bytes, String detail) {
        counters.increment(cause.counter);
        if (cause == Drop.TABLE_FULL) {
            Spans.spawnError(acceptorSpan, peer, System.nanoTime());
        }
        JfrEvents.drop(detail == null ? cause.cause : cause.cause + " " + detail, peer, bytes);
    }

    /** Any thread but the acceptor's: a send refused by a full send queue, a post refused by a full mailbox or inbox. */
    public void dropFromAnyThread(Drop cause, PeerKey peer, long bytes) {
        foreign.incrementAndGet(cause.counter);
        JfrEvents.drop(cause.cause, peer, bytes);
    }

    /** Counts one event under {@code counter} ({@link Counters} layout) from any thread: the DTLS layer's counters. */
    public void countFromAnyThread(int counter) {
        foreign.incrementAndGet(counter);
    }

    /** Adds this acceptor's counts, its own and the other threads', to {@code sum} (engine layout, {@link Counters}). */
    void addTo(long[] sum) {
        counters.addTo(sum);
        for (int i = 0; i < Counters.COUNT; i++) {
            sum[i] += foreign.get(i);
        }
    }
}
