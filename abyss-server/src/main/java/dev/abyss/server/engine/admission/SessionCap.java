package dev.abyss.server.engine.admission;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server-wide cap on live sessions (numConnections), shared by every acceptor: a place is
 * reserved before a session opens and given back when it ends. Any thread.
 */
public final class SessionCap {
    /** No cap: reservations always succeed (they are still counted). */
    public static final int UNLIMITED = -1;

    private final int cap;
    private final AtomicInteger live = new AtomicInteger();

    /** @param cap the most live sessions, or {@link #UNLIMITED} */
    public SessionCap(int cap) {
        this.cap = cap;
    }

    /** Takes a place; false when the cap is reached. */
    public boolean tryReserve() {
        if (cap == UNLIMITED) {
            live.incrementAndGet();
            return true;
        }
        while (true) {
            int n = live.get();
            if (n >= cap) {
                return false;
            }
            if (live.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** {@return the most places, or {@link #UNLIMITED}} */
    public int max() {
        return cap;
    }

    /** {@return the places taken now (any thread): never negative, never above the cap} */
    public int live() {
        return live.get();
    }

    /** Gives a place back. */
    public void release() {
        live.decrementAndGet();
    }
}
