package dev.abyss.server.engine.telemetry;

import dev.abyss.server.ServerStats.Counter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The engine's counter layout, its one mapping to {@link Counter}, and snapshots that never show impossible values. */
class CounterSnapshotStatsTest {

    @Test
    void everyPublicCounterIsMappedExactlyOnce() {
        assertEquals(Counter.values().length, Counters.COUNT, "one engine slot per public counter");
        Set<Counter> seen = EnumSet.noneOf(Counter.class);
        for (int i = 0; i < Counters.COUNT; i++) {
            Counter c = Counters.PUBLIC[i];
            assertNotNull(c, "slot " + i + " maps to no public counter");
            assertTrue(seen.add(c), c + " is mapped twice");
        }
        assertEquals(EnumSet.allOf(Counter.class), seen);
    }

    @Test
    void eachSlotLandsUnderItsPublicCounter() {
        Counters counters = new Counters();
        Drops drops = new Drops(counters, 0);
        for (int i = 0; i < Counters.COUNT; i++) {
            counters.add(i, 1000 + i);
        }
        drops.dropFromAnyThread(Drop.SEND_QUEUE_FULL, null, 0); // another thread's count is summed in too
        long[] byPublic = Counters.snapshot(List.of(drops, drops)); // two acceptors
        for (int i = 0; i < Counters.COUNT; i++) {
            long extra = i == Counters.SEND_QUEUE_FULL ? 1 : 0;
            assertEquals(2 * (1000 + i + extra), byPublic[Counters.PUBLIC[i].ordinal()], Counters.PUBLIC[i].name());
        }
    }

    @Test
    void eachDropCauseHasItsOwnCounter() {
        Set<Integer> counters = new HashSet<>();
        Set<String> causes = new HashSet<>();
        for (Drop d : Drop.values()) {
            assertTrue(counters.add(d.counter), d + " shares its counter");
            assertTrue(causes.add(d.cause), d + " shares its JFR cause");
        }
    }

    /**
     * An acceptor opens and closes sessions (and sends GSO segments, and reads ICMP errors) as
     * fast as it can while another thread takes snapshots: no snapshot shows a part larger than its
     * whole. Bounded by a count and a time, whichever ends first.
     */
    @Test
    @Timeout(30)
    void aSnapshotTakenWhileCountingIsNeverImpossible() throws Exception {
        Counters counters = new Counters();
        List<Drops> acceptors = List.of(new Drops(counters, 0));
        AtomicBoolean done = new AtomicBoolean();
        Thread acceptor = new Thread(() -> {
            while (!done.get()) {
                for (int i = 0; i < 64; i++) { // the order the engine writes in: the whole, then its part
                    counters.increment(Counters.SESSIONS_OPENED);
                    counters.increment(Counters.DATAGRAMS_OUT);
                    counters.increment(Counters.GSO_SEGMENTS);
                    counters.increment(Counters.UNREACHABLE);
                    counters.increment(Counters.SESSIONS_UNREACHABLE);
                    counters.increment(Counters.SESSIONS_CLOSED);
                    counters.increment(Counters.RECEIVE_ERRORS); // an AF_XDP frame refused: the error, then the drop
                    counters.increment(Counters.XDP_FRAMES_REFUSED);
                }
            }
        }, "counting-acceptor");
        acceptor.start();
        long before;
        int n = 0;
        try {
            while ((before = counters.get(Counters.SESSIONS_OPENED)) == 0) {
                Thread.onSpinWait(); // the acceptor is counting: snapshots race with it from the first one
            }
            long deadline = System.nanoTime() + 1_000_000_000L;
            for (; n < 5_000_000 && System.nanoTime() < deadline; n++) {
                long[] s = Counters.snapshot(acceptors);
                long live = s[Counter.SESSIONS_OPENED.ordinal()] - s[Counter.SESSIONS_CLOSED.ordinal()];
                if (live < 0) {
                    fail("sessionsLive " + live + " in snapshot " + n);
                }
                if (s[Counter.GSO_SEGMENTS.ordinal()] > s[Counter.DATAGRAMS_OUT.ordinal()]) {
                    fail("more GSO segments than datagrams out in snapshot " + n);
                }
                if (s[Counter.SESSIONS_UNREACHABLE.ordinal()] > s[Counter.UNREACHABLE.ordinal()]) {
                    fail("more sessions ended unreachable than ICMP errors in snapshot " + n);
                }
                if (s[Counter.XDP_FRAMES_REFUSED.ordinal()] > s[Counter.RECEIVE_ERRORS.ordinal()]) {
                    fail("more AF_XDP frames refused than receive errors in snapshot " + n);
                }
            }
        } finally {
            done.set(true);
            acceptor.join();
        }
        long during = counters.get(Counters.SESSIONS_OPENED) - before;
        System.out.println("COUNTER SNAPSHOTS " + n + " taken while the acceptor counted " + during + " sessions");
        assertTrue(during > 0, "the acceptor counted while the snapshots were taken");
    }
}
