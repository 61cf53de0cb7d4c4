package dev.abyss.server.transport;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The coalescing rules of {@link Gso}, and what each kind of refusal changes. */
class GsoTest {
    private static final Object TAG = new Object();
    private static final PeerKey A = new PeerKey().set(new InetSocketAddress("127.0.0.1", 1000));
    private static final PeerKey B = new PeerKey().set(new InetSocketAddress("127.0.0.1", 2000));

    /** Opens a send of one {@code size}-byte datagram to {@code to}, and says whether a second one joins it. */
    private static boolean secondJoins(Gso gso, PeerKey to, int size) {
        gso.start(TAG, to, null, -1, size);
        return gso.joins(TAG, to, null, -1, size);
    }

    @Test
    void equalDatagramsToOnePeerJoinUpToTheLimitsAndAShorterOneClosesTheSend() {
        try (Arena arena = Arena.ofConfined()) {
            Gso gso = new Gso(true, Gso.MAX_SEGMENTS, arena, "test");
            gso.start(TAG, A, null, -1, 1_000);
            assertTrue(gso.joins(TAG, A, null, -1, 1_000));
            assertFalse(gso.joins(TAG, B, null, -1, 1_000), "another peer");
            assertFalse(gso.joins(new Object(), A, null, -1, 1_000), "another session's tag");
            assertFalse(gso.joins(TAG, A, null, 2, 1_000), "another traffic class");
            assertFalse(gso.joins(TAG, A, A, -1, 1_000), "another source");
            assertFalse(gso.joins(TAG, A, null, -1, 1_001), "a larger datagram");
            assertEquals(2, gso.join(1_000));
            assertEquals(3, gso.join(500)); // shorter: the last
            assertFalse(gso.joins(TAG, A, null, -1, 500), "nothing after a shorter segment");
            for (int size : new int[]{0, Gso.MAX_SEGMENT_SIZE + 1}) {
                assertFalse(secondJoins(gso, A, size), size + " bytes is not coalesced");
            }
            gso.start(TAG, A, null, -1, 1_000);
            for (int n = 1; n < Gso.MAX_SEGMENTS; n++) {
                assertTrue(gso.joins(TAG, A, null, -1, 1_000), "segment " + (n + 1));
                gso.join(1_000);
            }
            assertFalse(gso.joins(TAG, A, null, -1, 1_000), "at most " + Gso.MAX_SEGMENTS + " segments");
        }
    }

    @Test
    void aPathTooSmallForASegmentSizeStopsCoalescingThatSizeToThatPeerOnly() {
        try (Arena arena = Arena.ofConfined()) {
            Gso gso = new Gso(true, Gso.MAX_SEGMENTS, arena, "test");
            gso.refused(Errno.EMSGSIZE, false, A, 1_400);
            assertTrue(secondJoins(gso, A, 1_400), "the datagrams failed alone too: not the path, nothing remembered");
            gso.refused(Errno.EMSGSIZE, true, A, 1_400);
            assertFalse(secondJoins(gso, A, 1_400), "A's path refused 1,400-byte segments");
            assertFalse(secondJoins(gso, A, 1_452), "and larger ones");
            assertTrue(secondJoins(gso, A, 1_000), "smaller ones still coalesce");
            assertTrue(secondJoins(gso, B, 1_400), "other peers are not affected");
            assertTrue(gso.on());
        }
    }

    @Test
    void gsoGoesOffOnlyWhenTheOneByOneSendsProveItWasTheCause() {
        try (Arena arena = Arena.ofConfined()) {
            Gso gso = new Gso(true, Gso.MAX_SEGMENTS, arena, "test");
            assertTrue(gso.splits(Errno.EIO) && gso.splits(Errno.EINVAL) && gso.splits(Errno.EMSGSIZE));
            assertFalse(gso.splits(Errno.ECONNREFUSED));
            gso.refused(Errno.EINVAL, false, A, 1_000);
            assertTrue(gso.on(), "the datagrams failed alone too: GSO was not the cause");
            gso.refused(Errno.EIO, true, A, 1_000);
            assertFalse(gso.on());
            assertFalse(secondJoins(gso, B, 1_000), "off for every peer of the socket");
        }
    }
}
