package dev.abyss.server.engine.telemetry;

import org.slf4j.Logger;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Logs errors that remote peers can cause at will (a handler that throws on every datagram), at a
 * bounded volume: the first {@link #BURST} per window with their stack trace, the rest only
 * counted, then one summary line with the count and the last message when the next window opens
 * (or at {@link #flush()}). Thread-safe: acceptors and virtual sessions share one per server.
 */
public final class ErrorLog {
    static final int BURST = 10;
    static final long WINDOW_NANOS = 10_000_000_000L;

    private final Logger log;
    private final AtomicLong windowStart = new AtomicLong(System.nanoTime());
    private final AtomicInteger logged = new AtomicInteger();
    private final AtomicLong suppressed = new AtomicLong();
    /** The last suppressed error, formatted only if a summary names it: a flood costs no formatting per error. */
    private final AtomicReference<Suppressed> lastSuppressed = new AtomicReference<>();

    private record Suppressed(String message, Object[] args) {
        @Override
        public String toString() {
            return org.slf4j.helpers.MessageFormatter.arrayFormat(message, args).getMessage();
        }
    }

    public ErrorLog(Logger log) {
        this.log = log;
    }

    /** Logs {@code message} (an SLF4J pattern) with {@code args}, a trailing Throwable with its stack, unless over the budget. */
    public void error(String message, Object... args) {
        long now = System.nanoTime();
        long start = windowStart.get();
        if (now - start > WINDOW_NANOS && windowStart.compareAndSet(start, now)) {
            summarize();
            logged.set(0);
        }
        if (logged.incrementAndGet() <= BURST) {
            log.error(message, args);
            return;
        }
        suppressed.incrementAndGet();
        lastSuppressed.set(new Suppressed(message, args));
    }

    /** Logs the summary of what was suppressed so far, if anything. */
    public void flush() {
        summarize();
    }

    /** Errors not logged so far (summarized ones included). */
    public long suppressedTotal() {
        return suppressedTotal.get();
    }

    private final AtomicLong suppressedTotal = new AtomicLong();

    private void summarize() {
        long n = suppressed.getAndSet(0);
        if (n > 0) {
            suppressedTotal.addAndGet(n);
            log.error("{} more errors in the last {} s were not logged (at most {} per {} s); the last: {}",
                    n, WINDOW_NANOS / 1_000_000_000L, BURST, WINDOW_NANOS / 1_000_000_000L, lastSuppressed.get());
        }
    }
}
