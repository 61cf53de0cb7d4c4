package dev.abyss.server.engine.dispatch;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Watches INLINE callbacks for inlineCallbackLimit: one daemon thread per server samples each
 * acceptor's callback counter (odd while a callback runs). A callback still running the same count
 * after the limit is reported to its acceptor, which interrupts it and ends its session with
 * handleError once it returns. The acceptor pays two opaque stores per callback, nothing more.
 */
public final class CallbackWatchdog implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(CallbackWatchdog.class);

    private final List<CallbackClock> clocks;
    private final long limitNanos;
    private final long periodNanos;
    private final CountDownLatch exited;
    private final long[] seen;
    private final long[] seenSince;

    private CallbackWatchdog(List<CallbackClock> clocks, Duration limit, CountDownLatch exited) {
        this.clocks = clocks;
        this.limitNanos = limit.toNanos();
        // sample a few times per limit: an overrun is seen at most a quarter limit late
        this.periodNanos = Math.clamp(limitNanos / 4, TimeUnit.MILLISECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(100));
        this.exited = exited;
        this.seen = new long[clocks.size()];
        this.seenSince = new long[clocks.size()];
    }

    public static Thread start(List<CallbackClock> clocks, Duration limit, CountDownLatch exited) {
        return Thread.ofPlatform().name("abyss-watchdog").daemon(true).start(new CallbackWatchdog(clocks, limit, exited));
    }

    @Override
    public void run() {
        try {
            while (!exited.await(periodNanos, TimeUnit.NANOSECONDS)) {
                long now = System.nanoTime();
                for (int i = 0; i < seen.length; i++) {
                    check(i, clocks.get(i), now);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void check(int i, CallbackClock clock, long now) {
        long count = clock.count();
        if (count != seen[i]) {
            seen[i] = count;
            seenSince[i] = now;
            return;
        }
        if ((count & 1) == 0 || now - seenSince[i] < limitNanos) {
            return;
        }
        seenSince[i] = Long.MAX_VALUE / 2; // report each overrun once
        Thread t = clock.owner();
        if (t != null) {
            Throwable where = new Throwable("callback on " + t.getName() + " still running");
            where.setStackTrace(t.getStackTrace());
            LOG.warn("an INLINE callback overran inlineCallbackLimit {} ms; interrupting it, its session ends in error",
                    TimeUnit.NANOSECONDS.toMillis(limitNanos), where);
        }
        clock.overran(count);
    }
}
