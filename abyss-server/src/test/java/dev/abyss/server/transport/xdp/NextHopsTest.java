package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The next-hop table's rules, without a kernel: per host, never replaced while live, replies in place. */
class NextHopsTest {
    private static final long HOLD = NextHops.HOLD_NANOS;
    private static final int CLIENT = 198 << 24 | 18 << 16 | 2; // 198.18.0.2
    private final NextHops table = new NextHops();

    private static PeerKey peer(int address, int port) {
        return new PeerKey().setInet4(address, port, false);
    }

    private static NextHop hop(long remoteMac) {
        return new NextHop().set(remoteMac, 0x02_00_00_00_00_01L, NextHop.UNTAGGED);
    }

    @Test
    void aHopIsLearnedPerHostNotPerPort() {
        NextHop real = hop(0x02_00_00_00_00_02L);
        NextHop forReply = table.learn(peer(CLIENT, 40000), real, 0);
        assertNotNull(forReply);
        assertTrue(forReply.sameAs(real));
        // another port of the same host: the same hop, known without a frame of its own
        NextHop other = table.of(peer(CLIENT, 40001));
        assertNotNull(other, "the host's hop serves every port");
        assertTrue(other.sameAs(real));
        assertNull(table.of(peer(CLIENT + 1, 40000)), "another host has no hop until it sends");
        assertEquals(0, table.takeContested());
    }

    @Test
    void aLiveHopIsNotReplacedByAnotherMacForTheSameHost() {
        NextHop real = hop(0x02_00_00_00_00_02L);
        NextHop forged = hop(0x02_00_00_00_00_99L);
        table.learn(peer(CLIENT, 40000), real, 0);
        assertNull(table.learn(peer(CLIENT, 40000), forged, HOLD / 2), "a contested host's replies go through the socket");
        assertEquals(1, table.takeContested());
        assertNull(table.of(peer(CLIENT, 40000)), "contested: no frames to it");
        // the real hop speaks on; once the forged one has been silent for the hold time, the host is clear again
        assertNull(table.learn(peer(CLIENT, 40000), real, HOLD));
        NextHop again = table.learn(peer(CLIENT, 40000), real, HOLD / 2 + HOLD);
        assertNotNull(again);
        assertTrue(again.sameAs(real), "the known hop stayed");
        assertEquals(0, table.takeContested(), "frames through the known hop are never counted");
    }

    @Test
    void aHostThatMovedGetsItsNewHopOnceTheOldOneIsSilent() {
        NextHop before = hop(0x02_00_00_00_00_02L);
        NextHop after = hop(0x02_00_00_00_00_03L);
        table.learn(peer(CLIENT, 40000), before, 0);
        NextHop moved = table.learn(peer(CLIENT, 40000), after, HOLD);
        assertNotNull(moved);
        assertTrue(moved.sameAs(after));
        assertTrue(table.of(peer(CLIENT, 40000)).sameAs(after));
    }

    @Test
    void aHostWithoutAPlaceIsAnsweredThroughItsOwnFrameAndDoesNotPushTheOtherOut() {
        // find two hosts that share a place: the hash is seeded per table, so search for one
        PeerKey first = peer(CLIENT, 40000);
        NextHop firstHop = hop(0x02_00_00_00_00_02L);
        table.learn(first, firstHop, 0);
        PeerKey second = null;
        NextHop secondHop = hop(0x02_00_00_00_00_03L);
        for (int a = 1; a < 1_000_000 && second == null; a++) {
            PeerKey candidate = peer(CLIENT + a, 40000);
            NextHop reply = table.learn(candidate, secondHop, 1);
            if (reply != null && table.of(candidate) == null) {
                second = candidate; // not placed, yet answered: it met the first host's live place
                assertSame(secondHop, reply, "the reply goes back the way the request came");
            }
        }
        assertNotNull(second, "two hosts of a million share one of 4,096 places");
        assertTrue(table.of(first).sameAs(firstHop), "the first host keeps its place");
        assertEquals(0, table.takeContested(), "a shared place is not a contested hop");
        // once the holder (the first host, or an earlier candidate) has been silent for the hold time,
        // the second takes the place
        table.learn(second, secondHop, HOLD + 1);
        assertTrue(table.of(second).sameAs(secondHop));
    }

    @Test
    void ipv6HostsAreKeyedByTheirWholeAddressAndScope() {
        PeerKey a = new PeerKey().setInet6(0xfd00_0000_0000_0000L, 2, 0, 40000);
        PeerKey sameButScope = new PeerKey().setInet6(0xfd00_0000_0000_0000L, 2, 3, 40000);
        table.learn(a, hop(0x02_00_00_00_00_02L), 0);
        assertNotNull(table.of(new PeerKey().setInet6(0xfd00_0000_0000_0000L, 2, 0, 53)));
        assertNull(table.of(sameButScope));
        assertNull(table.of(peer(2, 40000)), "an IPv4 host with the same low bits is another host");
    }
}
