package dev.abyss.server.engine.admission;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.session.SessionImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The retry queue against a fake acceptor and a fake clock: order, bounds, drop counts, ring reuse. */
class RetriesTest {
    private static final long WAIT = 1_000;

    private final Arena arena = Arena.ofConfined();
    private final FakeHost host = new FakeHost();

    @AfterEach
    void close() {
        arena.close();
    }

    /** Records what the retry queue asks of the acceptor; the table has {@code room} places. */
    static final class FakeHost implements Retries.Host {
        int room;
        final Map<PeerKey, SessionImpl> sessions = new HashMap<>();
        final List<String> delivered = new ArrayList<>();
        final List<String> droppedFull = new ArrayList<>();

        @Override
        public SessionImpl session(PeerKey peer) {
            return sessions.get(peer);
        }

        @Override
        public SessionImpl tryOpen(PeerKey peer, PeerKey arrivedAt, MemorySegment first, boolean truncated) {
            if (room == 0) {
                return null;
            }
            room--;
            PeerKey key = peer.copy();
            SessionImpl s = new SessionImpl(key, null, null, null, 0, 0, 0);
            sessions.put(key, s);
            deliver(s, first, truncated);
            return s;
        }

        @Override
        public void deliver(SessionImpl s, MemorySegment data, boolean truncated) {
            delivered.add(s.key.toSocketAddress().toString().replace("/127.0.0.1:", "") + "=" + text(data));
        }

        @Override
        public void droppedTableFull(PeerKey peer, long bytes) {
            droppedFull.add(peer.toSocketAddress().toString().replace("/127.0.0.1:", "") + "=" + bytes);
        }
    }

    private static PeerKey peer(int port) {
        return new PeerKey().set(new InetSocketAddress("127.0.0.1", port));
    }

    private static String text(MemorySegment data) {
        return new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    private MemorySegment bytes(String s) {
        return arena.allocateFrom(s).asSlice(0, s.length());
    }

    @Test
    void aPeersDatagramsWaitInOrderAndOthersAreNotHeldUp() {
        Retries r = new Retries(3, WAIT, 1 << 16, arena, host);
        r.add(peer(1), bytes("a1"), false, 0, false);
        r.add(peer(2), bytes("b1"), false, 10, false);
        r.add(peer(1), bytes("a2"), false, 20, false);
        assertTrue(r.isWaiting(peer(1)));
        assertEquals(3, r.waitingDatagrams());
        assertEquals(1, r.millisToNext(0), "the first peer is due WAIT ns (rounded up to 1 ms) after it arrived");
        r.process(WAIT - 1);
        assertEquals(List.of(), host.delivered, "nothing is due before the wait");
        host.room = 1;
        r.process(WAIT);
        assertEquals(List.of("1=a1", "1=a2"), host.delivered, "peer 1 due first, both its datagrams in order");
        assertTrue(!r.isWaiting(peer(1)) && r.isWaiting(peer(2)));
        host.room = 1;
        r.process(WAIT + 10);
        assertEquals(List.of("1=a1", "1=a2", "2=b1"), host.delivered);
        assertEquals(0, r.waitingDatagrams());
        assertEquals(0, r.bytesHeld(), "every record reclaimed");
    }

    @Test
    void aPeerThatNeverGetsInIsDroppedAfterItsRetriesEachDatagramCounted() {
        Retries r = new Retries(2, WAIT, 1 << 16, arena, host);
        r.add(peer(1), bytes("x"), false, 0, false);
        r.add(peer(1), bytes("yy"), false, 0, false);
        r.process(WAIT);
        assertEquals(List.of(), host.droppedFull, "one retry done, one left");
        r.process(2 * WAIT);
        assertEquals(List.of("1=1", "1=2"), host.droppedFull);
        assertEquals(-1, r.millisToNext(2 * WAIT));
    }

    @Test
    void theBufferIsTheBoundInBytesAndItsSpaceIsReused() {
        Retries r = new Retries(5, WAIT, 1 << 16, arena, host);
        MemorySegment big = arena.allocate(40_000);
        r.add(peer(1), big, false, 0, false);
        r.add(peer(2), big, false, 0, false);
        assertEquals(List.of("2=40000"), host.droppedFull, "the second 40 kB datagram does not fit 64 KiB: dropped at once");
        assertTrue(r.bytesHeld() <= 1 << 16);
        host.room = 1;
        r.process(WAIT);
        assertEquals(0, r.bytesHeld());
        // wrap around the end of the ring many times, with a peer waiting across the wrap
        for (int i = 0; i < 1_000; i++) {
            r.add(peer(3), bytes("m" + i), false, WAIT + i, false);
            r.add(peer(4), arena.allocate(10_000 + i), false, WAIT + i, false);
            host.sessions.put(peer(4).copy(), new SessionImpl(peer(4).copy(), null, null, null, 0, 0, 0));
            host.room = 1;
            r.process(2 * WAIT + i);
        }
        assertEquals(2_000, host.delivered.size() - 1, "every datagram delivered");
        assertEquals("3=m999", host.delivered.stream().filter(d -> d.startsWith("3=")).reduce((a, b) -> b).orElseThrow());
        assertEquals(0, r.waitingDatagrams());
    }

    @Test
    void atMostMaxWaitingDatagramsWaitAndAStopDropsNewOnes() {
        Retries r = new Retries(5, WAIT, 1 << 24, arena, host);
        for (int i = 0; i < Retries.MAX_WAITING + 10; i++) {
            r.add(peer(1 + i % 1000), bytes("d"), false, 0, false);
        }
        assertEquals(Retries.MAX_WAITING, r.waitingDatagrams());
        assertEquals(10, host.droppedFull.size());
        r.add(peer(9999), bytes("late"), false, 0, true);
        assertEquals(11, host.droppedFull.size(), "a stopping server queues nothing");
        r.clear();
        assertEquals(11 + Retries.MAX_WAITING, host.droppedFull.size(), "clear drops and counts everything waiting");
        assertEquals(0, r.bytesHeld());
    }

    @Test
    void oneDrainDeliversEveryPeerInOrder() {
        // 4,095 datagrams from 1,365 peers (3 each, interleaved): one process() call delivers all;
        // its cost is linear in waiting datagrams by construction (a chain per peer), see RetriesBenchmark
        Retries r = new Retries(5, WAIT, 1 << 20, arena, host);
        int peers = Retries.MAX_WAITING / 3;
        for (int k = 0; k < 3; k++) {
            for (int p = 0; p < peers; p++) {
                r.add(peer(1 + p), bytes("p" + p + "." + k), false, 0, false);
            }
        }
        host.room = peers;
        r.process(WAIT);
        assertEquals(3 * peers, host.delivered.size());
        assertEquals("1=p0.0", host.delivered.get(0));
        assertEquals("1=p0.2", host.delivered.get(2), "a peer's datagrams in arrival order");
    }
}
