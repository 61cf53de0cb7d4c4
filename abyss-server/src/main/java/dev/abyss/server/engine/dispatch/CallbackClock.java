package dev.abyss.server.engine.dispatch;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The INLINE callback limit, acceptor side: a counter that is odd while a callback runs (two opaque
 * stores per callback), read by the {@link CallbackWatchdog}; the watchdog marks the count of a
 * callback that overran and interrupts the thread, and the acceptor turns that callback's outcome
 * into an error when it returns.
 */
public final class CallbackClock {
    private static final VarHandle COUNT;

    static {
        try {
            COUNT = MethodHandles.lookup().findVarHandle(CallbackClock.class, "count", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // via COUNT
    private long count;
    private volatile long overrun = -1;
    private volatile Thread owner;

    /** The acceptor thread, once it runs. */
    public void owner(Thread t) {
        owner = t;
    }

    /** Any thread: true on the acceptor's own thread. */
    public boolean onOwnerThread() {
        return Thread.currentThread() == owner;
    }

    Thread owner() {
        return owner;
    }

    /** Owner thread: a callback starts. */
    public void enter() {
        COUNT.setOpaque(this, count + 1);
    }

    /** Owner thread: the callback returned; true when the watchdog found it overran (interrupt cleared). */
    public boolean exitOverran() {
        long running = count;
        COUNT.setOpaque(this, running + 1);
        if (overrun != running) {
            return false;
        }
        overrun = -1;
        Thread.interrupted();
        return true;
    }

    /** Owner thread, between callbacks: clears an interrupt that landed after its callback ended. */
    public void clearLateInterrupt() {
        if (overrun != -1) {
            Thread.interrupted();
        }
    }

    /** Watchdog: odd while a callback runs. */
    long count() {
        return (long) COUNT.getOpaque(this);
    }

    /** Watchdog: the callback numbered {@code running} overran. */
    void overran(long running) {
        overrun = running;
        Thread t = owner;
        if (t != null && count() == running) {
            t.interrupt();
        }
    }
}
