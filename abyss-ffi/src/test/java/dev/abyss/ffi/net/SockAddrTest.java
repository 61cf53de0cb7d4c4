package dev.abyss.ffi.net;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SockAddrTest {
    private final Arena arena = Arena.ofAuto();

    private SocketAddress roundTrip(SocketAddress a, int expectedLength) {
        MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        int len = SockAddr.write(a, sa);
        assertEquals(expectedLength, len, "encoded length of " + a);
        return SockAddr.read(sa, len);
    }

    @Test
    void ipv4EncodesInNetworkOrderAndRoundTrips() {
        InetSocketAddress a = new InetSocketAddress("10.1.2.3", 0x1234);
        MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        assertEquals(16, SockAddr.write(a, sa));
        assertEquals(Net.AF_INET, sa.get(JAVA_SHORT, 0));
        assertEquals(0x12, sa.get(JAVA_BYTE, 2));
        assertEquals(0x34, sa.get(JAVA_BYTE, 3));
        assertEquals(10, sa.get(JAVA_BYTE, 4));
        assertEquals(3, sa.get(JAVA_BYTE, 7));
        assertEquals(a, roundTrip(a, 16));
    }

    @Test
    void ipv6WithScopeAndV4MappedRoundTrip() throws Exception {
        InetSocketAddress v6 = new InetSocketAddress("2001:db8::1", 65535);
        assertEquals(v6, roundTrip(v6, 28));
        InetSocketAddress scoped = new InetSocketAddress(Inet6Address.getByAddress(null,
                InetAddress.getByName("fe80::1").getAddress(), 3), 53);
        InetSocketAddress back = (InetSocketAddress) roundTrip(scoped, 28);
        assertEquals(3, ((Inet6Address) back.getAddress()).getScopeId());
        // Java folds ::ffff:a.b.c.d into an Inet4Address; the kernel keeps it IPv6 on AF_INET6 sockets
        MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1};
        int len = SockAddr.writeInet6(sa, mapped, 4000, 0);
        assertEquals(new InetSocketAddress("127.0.0.1", 4000), SockAddr.read(sa, len));
    }

    @Test
    void anIpv4PeerKeysLikeTheV4MappedAddressADualStackSocketReports() throws Exception {
        // what recvmmsg on an AF_INET6 socket reports for 127.0.0.1:4242: sockaddr_in6 ::ffff:127.0.0.1
        MemorySegment in6 = MemorySegment.ofArray(new long[SockAddr.STORAGE_SIZE / 8]);
        in6.set(JAVA_SHORT, 0, (short) Net.AF_INET6);
        in6.set(SockAddr.NET_SHORT, 2, (short) 4242);
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1};
        MemorySegment.copy(mapped, 0, in6, JAVA_BYTE, 8, 16);
        PeerKey reported = new PeerKey();
        assertTrue(reported.readFrom(in6, 28));
        PeerKey v4 = new PeerKey().set(new InetSocketAddress("127.0.0.1", 4242));
        assertNotEquals(v4, reported, "different families, different keys");
        assertEquals(reported, v4.v4Mapped());
        assertEquals(reported.hashCode(), v4.v4Mapped().hashCode());
        assertEquals(null, reported.v4Mapped(), "only IPv4 keys map");
    }

    @Test
    void unixPathsAbstractNamesAndTheLengthLimit() {
        UnixDomainSocketAddress path = UnixDomainSocketAddress.of("/tmp/abyss.sock");
        assertEquals(path, roundTrip(path, 2 + "/tmp/abyss.sock".length() + 1));
        UnixDomainSocketAddress abs = UnixDomainSocketAddress.of("@abyss-test");
        assertEquals(abs, roundTrip(abs, 2 + 1 + "abyss-test".length()));
        String longest = "/" + "a".repeat(106);
        assertEquals(UnixDomainSocketAddress.of(longest), roundTrip(UnixDomainSocketAddress.of(longest), 110));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SockAddr.write(UnixDomainSocketAddress.of(longest + "b"), arena.allocate(SockAddr.SOCKADDR_STORAGE)));
        assertTrue(e.getMessage().contains("108 bytes") || e.getMessage().contains("107"), e.getMessage());
        assertTrue(e.getMessage().contains(longest), "message names the path: " + e.getMessage());
    }

    @Test
    void badInputIsRejectedWithTheReason() {
        MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        assertThrows(IllegalArgumentException.class,
                () -> SockAddr.write(InetSocketAddress.createUnresolved("example.invalid", 1), sa));
        assertThrows(IllegalArgumentException.class, () -> SockAddr.read(sa, 1));
        sa.set(JAVA_SHORT, 0, (short) Net.AF_INET);
        IllegalArgumentException shortAddr = assertThrows(IllegalArgumentException.class, () -> SockAddr.read(sa, 8));
        assertTrue(shortAddr.getMessage().contains("sockaddr_in"), shortAddr.getMessage());
        sa.set(JAVA_SHORT, 0, (short) 99);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SockAddr.read(sa, 16))
                .getMessage().contains("99"));
    }

    @Test
    void peerKeyReadsWithoutJavaAddressesAndWritesBack() {
        MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        PeerKey key = new PeerKey();
        for (SocketAddress a : new SocketAddress[]{new InetSocketAddress("192.168.7.9", 5353),
                new InetSocketAddress("::1", 443), UnixDomainSocketAddress.of("/run/peer.sock")}) {
            int len = SockAddr.write(a, sa);
            assertTrue(key.readFrom(sa, len));
            assertEquals(a, key.toSocketAddress());
            MemorySegment out = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            int outLen = key.writeTo(out);
            assertEquals(a, SockAddr.read(out, outLen));
            PeerKey copy = key.copy();
            assertEquals(key, copy);
            assertEquals(key.hashCode(), copy.hashCode());
        }
        assertFalse(key.readFrom(sa, 1), "too short for a family");
    }

    @Test
    void peerKeysDifferByPortAddressAndFamily() {
        PeerKey a = new PeerKey().set(new InetSocketAddress("127.0.0.1", 1000));
        assertNotEquals(a, new PeerKey().set(new InetSocketAddress("127.0.0.1", 1001)));
        assertNotEquals(a, new PeerKey().set(new InetSocketAddress("127.0.0.2", 1000)));
        assertNotEquals(a, new PeerKey().set(new InetSocketAddress("::1", 1000)));
        assertEquals(a, new PeerKey().set(new InetSocketAddress("127.0.0.1", 1000)));
        assertEquals(1000, a.port());
        assertEquals(Net.AF_INET, a.family());
    }
}
