package dev.abyss.server.engine.session;

import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The idle-timeout wheel against a fake clock: never early, on time to the tick, moved deadlines, long timeouts, ended sessions. */
class TimerWheelTest {
    private static final long MS = 1_000_000L;
    private static final long T0 = 5_000 * MS; // any origin: the wheel counts from its own

    private static SessionImpl session(int port, long deadline) {
        // a timeout of 0: touch(t) puts the deadline at t
        SessionImpl s = new SessionImpl(new PeerKey().set(new InetSocketAddress("127.0.0.1", port)), null, null, null, 0, 0, 0);
        s.touch(deadline);
        return s;
    }

    private static List<Integer> advance(TimerWheel w, long now) {
        List<Integer> expired = new ArrayList<>();
        w.advance(now, s -> expired.add(s.key.port()));
        return expired;
    }

    @Test
    void aSessionExpiresOnItsTickNeverBefore() {
        TimerWheel w = new TimerWheel(T0);
        SessionImpl s = session(1, T0 + 95 * MS);
        w.schedule(s);
        assertEquals(List.of(), advance(w, T0 + 94 * MS), "not before its deadline");
        assertEquals(List.of(1), advance(w, T0 + 100 * MS), "at the first tick at or after it");
        assertEquals(-1, w.millisToNextTick(T0 + 100 * MS), "nothing filed any more");
    }

    @Test
    void activityMovesTheDeadlineWithoutRefiling() {
        TimerWheel w = new TimerWheel(T0);
        SessionImpl s = session(2, T0 + 50 * MS);
        w.schedule(s);
        s.touch(T0 + 300 * MS); // a datagram arrived: one field write
        assertEquals(List.of(), advance(w, T0 + 60 * MS), "re-filed under its new deadline, not expired");
        assertEquals(List.of(), advance(w, T0 + 290 * MS));
        assertEquals(List.of(2), advance(w, T0 + 310 * MS));
    }

    @Test
    void anEarlierDeadlineIsHonouredAndLongTimeoutsOutliveAWheelTurn() {
        TimerWheel w = new TimerWheel(T0);
        SessionImpl shortened = session(3, T0 + 1_000 * MS);
        SessionImpl longOne = session(4, T0 + (TimerWheel.SLOTS * TimerWheel.TICK_MILLIS + 500) * MS); // past one turn
        w.schedule(shortened);
        w.schedule(longOne);
        shortened.touch(T0 + 20 * MS); // a one-shot timeout from a callback
        w.deadlineChanged(shortened);
        assertEquals(List.of(3), advance(w, T0 + 30 * MS));
        assertEquals(List.of(), advance(w, T0 + (TimerWheel.SLOTS * TimerWheel.TICK_MILLIS) * MS), "not after one turn of the wheel");
        assertEquals(List.of(4), advance(w, T0 + (TimerWheel.SLOTS * TimerWheel.TICK_MILLIS + 510) * MS));
    }

    @Test
    void anEndedSessionNeverExpiresAndManyExpireInOneAdvance() {
        TimerWheel w = new TimerWheel(T0);
        SessionImpl ended = session(5, T0 + 10 * MS);
        w.schedule(ended);
        ended.markClosed(SessionEnd.CLOSE);
        for (int i = 0; i < 1_000; i++) {
            w.schedule(session(1_000 + i, T0 + (i % 50) * MS));
        }
        List<Integer> expired = advance(w, T0 + 60 * MS);
        assertEquals(1_000, expired.size(), "all due at once, the ended one not among them");
        assertTrue(!expired.contains(5));
        assertEquals(-1, w.millisToNextTick(T0 + 60 * MS));
    }
}
