package dev.abyss.testsupport;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one way a test waits for something that another thread, another process or the kernel will
 * do: observe a value until it is what the test waits for, with a deadline. A failure names what was
 * awaited and the last value seen ({@code not within 10 s: the queued sends go out; last seen:
 * ServerStats[...]}), never a bare "expected true".
 *
 * <pre>{@code
 * await("session removed", server::sessions, n -> n == 0);
 * ServerStats st = await("every echo counted", server::stats, s -> s.datagramsOut() == 4);
 * }</pre>
 *
 * <p>The observation may do work of its own (poll a transport, drain a socket): it runs once per
 * round, about every {@value #ROUND_MILLIS} ms. An interrupt does not end the wait (a transport
 * test polls with the interrupt status set on purpose); the deadline does.
 */
public final class Await {
    /** The deadline when a test names none: room for a loaded 2-core machine, short enough to fail a stuck test. */
    public static final Duration DEFAULT = Duration.ofSeconds(10);

    static final int ROUND_MILLIS = 2;

    private Await() {
    }

    /**
     * Observes {@code observed} until {@code done} holds for it, for at most {@link #DEFAULT}.
     *
     * @return the value that {@code done} accepted
     * @throws AssertionError naming {@code what} and the last value seen, when the deadline passes first
     */
    public static <T> T await(String what, Supplier<? extends T> observed, Predicate<? super T> done) {
        return await(what, DEFAULT, observed, done);
    }

    /** As {@link #await(String, Supplier, Predicate)}, for at most {@code within}. */
    public static <T> T await(String what, Duration within, Supplier<? extends T> observed, Predicate<? super T> done) {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            T value = observed.get();
            if (done.test(value)) {
                return value;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + format(within) + ": " + what + "; last seen: " + value);
            }
            LockSupport.parkNanos(ROUND_MILLIS * 1_000_000L); // a round of polling, not a sleep as synchronisation
        }
    }

    private static String format(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
