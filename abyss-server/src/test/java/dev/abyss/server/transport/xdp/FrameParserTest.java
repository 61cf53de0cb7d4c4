package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of frame the parser serves or refuses, built byte by byte by {@link RawFrame}. */
class FrameParserTest {
    static final int IFINDEX = 7;
    static final int PORT = 5353;
    private final Arena arena = Arena.ofAuto();
    private final ReceivedFrame out = new ReceivedFrame();

    static PeerKey key(String host, int port) {
        return new PeerKey().set(new InetSocketAddress(host, port));
    }

    /** A parser bound to 0.0.0.0:5353 that verifies checksums and reports traffic classes. */
    static FrameParser anyV4() {
        return new FrameParser(key("0.0.0.0", PORT), false, IFINDEX, true, true, 2048);
    }

    static FrameParser anyV6() {
        return new FrameParser(key("::", PORT), false, IFINDEX, true, true, 2048);
    }

    /** Copies the frame to an odd offset of native memory (UMEM frames are at any alignment) and parses it. */
    FrameCheck parse(FrameParser p, byte[] frame) {
        return parse(p, frame, frame.length);
    }

    FrameCheck parse(FrameParser p, byte[] frame, int length) {
        MemorySegment umem = arena.allocate(frame.length + 16);
        MemorySegment.copy(frame, 0, umem, java.lang.foreign.ValueLayout.JAVA_BYTE, 3, frame.length);
        return p.parse(umem, 3, length, out);
    }

    static byte[] with(RawFrame f, Consumer<RawFrame> change) {
        change.accept(f);
        return f.build();
    }

    @Test
    void ipv4DatagramGivesTheSocketsFacts() {
        RawFrame f = RawFrame.v4();
        f.tos = 0xB9; // DSCP 46, ECN CE
        f.payload = "query".getBytes();
        assertEquals(FrameCheck.OK, parse(anyV4(), f.build()));
        assertEquals(new InetSocketAddress("198.18.0.2", 40000), out.source().toSocketAddress());
        assertEquals(Net.AF_INET, out.source().family());
        assertEquals(new InetSocketAddress("198.18.0.1", PORT), out.destination());
        assertEquals(key("198.18.0.1", PORT), out.destinationKey());
        assertEquals(IFINDEX, out.interfaceIndex());
        assertEquals(0xB9, out.trafficClass());
        assertEquals(-1, out.timestampNanos());
        assertEquals(0, out.segmentSize());
        assertFalse(out.truncated());
        assertEquals(4, out.ipVersion());
        assertEquals(3 + 14 + 20 + 8, out.payloadOffset());
        assertEquals(5, out.payloadLength());
        assertEquals(3 + 14, out.ipOffset());
        assertEquals(3 + 34, out.udpOffset());
        assertEquals(64, out.receivedHopLimit());
        assertEquals(0x02_00_00_00_00_02L, out.hop().remoteMac());
        assertEquals(0x02_00_00_00_00_01L, out.hop().localMac());
        assertEquals(NextHop.UNTAGGED, out.hop().vlanTci());
    }

    @Test
    void ipv6DatagramGivesTheSocketsFacts() {
        RawFrame f = RawFrame.v6();
        f.tos = 0x2E; // traffic class
        assertEquals(FrameCheck.OK, parse(anyV6(), f.build()));
        assertEquals(new InetSocketAddress("fd00::2", 40000), out.source().toSocketAddress());
        assertEquals(0, out.source().scopeId());
        assertEquals(new InetSocketAddress("fd00::1", PORT), out.destination());
        assertEquals(0x2E, out.trafficClass());
        assertEquals(6, out.ipVersion());
        assertEquals(3 + 14 + 40 + 8, out.payloadOffset());
        assertEquals(5, out.payloadLength());
    }

    @Test
    void linkLocalPeersAreScopedToTheInterface() {
        RawFrame f = RawFrame.v6();
        f.src = RawFrame.addr6("fe80::2");
        assertEquals(FrameCheck.OK, parse(anyV6(), f.build()));
        assertEquals(IFINDEX, out.source().scopeId());
    }

    @Test
    void vlanTaggedFramesAreServedAndTheTagKept() {
        RawFrame f = RawFrame.v4();
        f.tags = new int[][]{{0x8100, 0x2064}}; // priority 1, VLAN 100
        assertEquals(FrameCheck.OK, parse(anyV4(), f.build()));
        assertEquals(0x2064, out.hop().vlanTci());
        assertEquals(3 + 18 + 28, out.payloadOffset());
        RawFrame g = RawFrame.v6();
        g.tags = new int[][]{{0x8100, 5}};
        assertEquals(FrameCheck.OK, parse(anyV6(), g.build()));
        assertEquals(5, out.hop().vlanTci());
        assertEquals(3 + 18 + 48, out.payloadOffset());
    }

    @ParameterizedTest
    @ValueSource(ints = {6, 7, 15})
    void ipv4OptionsAreSkippedByTheHeaderLength(int ihl) {
        RawFrame f = RawFrame.v4();
        f.ihl = ihl;
        f.options = new byte[(ihl - 5) * 4];
        f.options[0] = 1; // NOPs, then end of list
        f.payload = "after options".getBytes();
        byte[] frame = f.build();
        assertEquals(FrameCheck.OK, parse(anyV4(), frame));
        assertEquals(3 + 14 + ihl * 4 + 8, out.payloadOffset());
        assertEquals(f.payload.length, out.payloadLength());
    }

    @Test
    void ethernetPaddingPastTheIpPacketIsIgnored() {
        RawFrame f = RawFrame.v4();
        f.payload = new byte[]{1};
        f.trailer = 60 - 43; // a minimum-size frame
        assertEquals(FrameCheck.OK, parse(anyV4(), f.build()));
        assertEquals(1, out.payloadLength());
        RawFrame g = RawFrame.v6();
        g.trailer = 9;
        assertEquals(FrameCheck.OK, parse(anyV6(), g.build()));
        assertEquals(5, out.payloadLength());
    }

    @Test
    void aUdpLengthShorterThanTheIpPayloadTrimsIt() {
        RawFrame f = RawFrame.v4();
        f.payload = "hello world".getBytes();
        f.udpLength = 8 + 5;
        f.udpChecksum = -2; // none: the trimmed part would not sum
        assertEquals(FrameCheck.OK, parse(anyV4(), f.build()));
        assertEquals(5, out.payloadLength());
    }

    @Test
    void aPayloadPastMaxDatagramSizeIsCutAndMarkedTruncated() {
        FrameParser p = new FrameParser(key("0.0.0.0", PORT), false, IFINDEX, true, true, 4);
        assertEquals(FrameCheck.OK, parse(p, RawFrame.v4().build()));
        assertTrue(out.truncated());
        assertEquals(4, out.payloadLength());
        RawFrame f = RawFrame.v4();
        f.payload = new byte[4];
        assertEquals(FrameCheck.OK, parse(p, f.build()));
        assertFalse(out.truncated());
    }

    @Test
    void aSpecificBindReportsNoDestinationAndServesOnlyItsAddress() {
        FrameParser p = new FrameParser(key("198.18.0.1", PORT), false, IFINDEX, false, true, 2048);
        assertEquals(FrameCheck.OK, parse(p, RawFrame.v4().build()));
        assertNull(out.destinationKey(), "a socket bound to an address gets no IP_PKTINFO");
        assertNull(out.destination());
        assertEquals(0, out.interfaceIndex());
        assertEquals(-1, out.trafficClass(), "not asked for IP_RECVTOS");
        assertEquals(key("198.18.0.1", PORT), out.destinationAddress());
        assertEquals(FrameCheck.NOT_FOR_US, parse(p, with(RawFrame.v4(), f -> f.dst = new byte[]{(byte) 198, 18, 0, 9})));
        assertEquals(FrameCheck.NOT_FOR_US, parse(p, RawFrame.v6().build()), "an IPv4 bind serves no IPv6");
        FrameParser p6 = new FrameParser(key("fd00::1", PORT), false, IFINDEX, false, true, 2048);
        assertEquals(FrameCheck.OK, parse(p6, RawFrame.v6().build()));
        assertEquals(FrameCheck.NOT_FOR_US, parse(p6, with(RawFrame.v6(), f -> f.dst = RawFrame.addr6("fd00::9"))));
        assertEquals(FrameCheck.NOT_FOR_US, parse(p6, RawFrame.v4().build()), "a specific IPv6 bind serves no IPv4");
    }

    @Test
    void aDualStackBindKeysIpv4PeersV4MappedAsTheSocketDoes() {
        assertEquals(FrameCheck.OK, parse(anyV6(), RawFrame.v4().build()));
        assertEquals(Net.AF_INET6, out.source().family());
        assertTrue(out.source().isV4Mapped());
        assertEquals(new PeerKey().setInet4(0xC6120002, 40000, true), out.source());
        assertEquals(new PeerKey().setInet4(0xC6120001, PORT, true), out.destinationKey());
        FrameParser v6only = new FrameParser(key("::", PORT), true, IFINDEX, true, true, 2048);
        assertEquals(FrameCheck.NOT_FOR_US, parse(v6only, RawFrame.v4().build()));
        assertEquals(FrameCheck.OK, parse(v6only, RawFrame.v6().build()));
        FrameParser mapped = new FrameParser(new PeerKey().setInet4(0xC6120001, PORT, true), false, IFINDEX, true, true, 2048);
        assertEquals(FrameCheck.OK, parse(mapped, RawFrame.v4().build()));
        assertTrue(out.source().isV4Mapped());
        assertNull(out.destinationKey());
        assertEquals(FrameCheck.NOT_FOR_US, parse(mapped, RawFrame.v6().build()));
    }

    @Test
    void anotherPortIsNotOurs() {
        assertEquals(FrameCheck.NOT_FOR_US, parse(anyV4(), with(RawFrame.v4(), f -> f.dstPort = 53)));
        assertEquals(FrameCheck.NOT_FOR_US, parse(anyV6(), with(RawFrame.v6(), f -> f.dstPort = 53)));
    }

    @Test
    void groupDestinationsAreNotOurs() {
        assertEquals(FrameCheck.NOT_UNICAST, parse(anyV4(), with(RawFrame.v4(), f -> f.dstMac = new byte[]{-1, -1, -1, -1, -1, -1})));
        assertEquals(FrameCheck.NOT_UNICAST, parse(anyV6(), with(RawFrame.v6(), f -> f.dstMac = new byte[]{0x33, 0x33, 0, 0, 0, 1})));
        assertEquals(FrameCheck.NOT_FOR_US, parse(anyV4(), with(RawFrame.v4(), f -> f.dst = new byte[]{(byte) 224, 0, 0, (byte) 251})));
        assertEquals(FrameCheck.NOT_FOR_US, parse(anyV4(), with(RawFrame.v4(), f -> f.dst = new byte[]{-1, -1, -1, -1})));
        assertEquals(FrameCheck.NOT_FOR_US, parse(anyV6(), with(RawFrame.v6(), f -> f.dst = RawFrame.addr6("ff02::fb"))));
    }

    @Test
    void otherEtherTypesAndStackedTagsAreNotIp() {
        assertEquals(FrameCheck.NOT_IP, parse(anyV4(), with(RawFrame.v4(), f -> f.etherType = 0x0806)));
        assertEquals(FrameCheck.NOT_IP, parse(anyV4(), with(RawFrame.v4(), f -> f.tags = new int[][]{{0x88A8, 1}, {0x8100, 2}})));
        assertEquals(FrameCheck.NOT_IP, parse(anyV4(), with(RawFrame.v4(), f -> f.tags = new int[][]{{0x8100, 1}, {0x8100, 2}})));
    }

    @Test
    void martianSourcesAndPortZeroAreRefused() {
        for (byte[] a : new byte[][]{{0, 0, 0, 0}, {0, 1, 2, 3}, {127, 0, 0, 1}, {(byte) 224, 0, 0, 1}, {-1, -1, -1, -1}}) {
            assertEquals(FrameCheck.BAD_SOURCE, parse(anyV4(), with(RawFrame.v4(), f -> f.src = a)), () -> java.util.Arrays.toString(a));
        }
        for (String a : new String[]{"::", "::1", "ff02::1"}) {
            assertEquals(FrameCheck.BAD_SOURCE, parse(anyV6(), with(RawFrame.v6(), f -> f.src = RawFrame.addr6(a))), a);
        }
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, (byte) 198, 18, 0, 2}; // InetAddress would make it IPv4
        assertEquals(FrameCheck.BAD_SOURCE, parse(anyV6(), with(RawFrame.v6(), f -> f.src = mapped)), "v4-mapped source");
        assertEquals(FrameCheck.BAD_SOURCE, parse(anyV4(), with(RawFrame.v4(), f -> f.srcPort = 0)));
        assertEquals(FrameCheck.BAD_SOURCE, parse(anyV6(), with(RawFrame.v6(), f -> f.srcPort = 0)));
        assertEquals(FrameCheck.BAD_SOURCE, parse(anyV4(), with(RawFrame.v4(), f -> f.srcMac = new byte[]{1, 0, 0x5E, 0, 0, 1})));
    }

    @Test
    void everyTruncationOfAFrameIsRefusedByTheHeaderItCuts() {
        // {frame, bytes of IP header (with options), of UDP header} for untagged and tagged v4 / v6
        RawFrame opts = RawFrame.v4();
        opts.ihl = 6;
        opts.options = new byte[4];
        RawFrame tagged = RawFrame.v6();
        tagged.tags = new int[][]{{0x8100, 9}};
        Object[][] cases = {{RawFrame.v4(), anyV4(), 14, 20}, {opts, anyV4(), 14, 24}, {RawFrame.v6(), anyV6(), 14, 40},
                {tagged, anyV6(), 18, 40}};
        for (Object[] c : cases) {
            byte[] frame = ((RawFrame) c[0]).build();
            FrameParser p = (FrameParser) c[1];
            int l2 = (int) c[2];
            int l3 = (int) c[3];
            for (int n = 0; n < frame.length; n++) {
                FrameCheck expected = n < l2 ? FrameCheck.SHORT_ETHERNET
                        : n < l2 + (l3 == 40 ? 40 : 20) ? FrameCheck.SHORT_IP
                        : n < l2 + l3 ? FrameCheck.SHORT_IP : FrameCheck.BAD_IP_LENGTH;
                assertEquals(expected, parse(p, frame, n), "cut at " + n + " of " + frame.length);
            }
            assertEquals(FrameCheck.OK, parse(p, frame));
        }
    }

    @Test
    void wrongIpVersionsAreRefused() {
        assertEquals(FrameCheck.BAD_IP_VERSION, parse(anyV4(), with(RawFrame.v4(), f -> f.version = 6)));
        assertEquals(FrameCheck.BAD_IP_VERSION, parse(anyV6(), with(RawFrame.v6(), f -> f.version = 4)));
        assertEquals(FrameCheck.BAD_IP_VERSION, parse(anyV6(), with(RawFrame.v4(), f -> {
            f.etherType = 0x86DD;
            f.payload = new byte[40];
        })));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4})
    void anIhlBelowFiveIsRefused(int ihl) {
        assertEquals(FrameCheck.BAD_IP_HEADER_LENGTH, parse(anyV4(), with(RawFrame.v4(), f -> f.ihl = ihl)));
    }

    @Test
    void ipLengthsThatContradictTheFrameAreRefused() {
        assertEquals(FrameCheck.BAD_IP_LENGTH, parse(anyV4(), with(RawFrame.v4(), f -> f.totalLength = 19)));
        assertEquals(FrameCheck.BAD_IP_LENGTH, parse(anyV4(), with(RawFrame.v4(), f -> f.totalLength = 20 + 8 + 6)));
        assertEquals(FrameCheck.BAD_IP_LENGTH, parse(anyV4(), with(RawFrame.v4(), f -> f.totalLength = 0xFFFF)));
        assertEquals(FrameCheck.BAD_IP_LENGTH, parse(anyV6(), with(RawFrame.v6(), f -> f.payloadLength = 0)));
        assertEquals(FrameCheck.BAD_IP_LENGTH, parse(anyV6(), with(RawFrame.v6(), f -> f.payloadLength = 8 + 6)));
    }

    @Test
    void aBadIpv4HeaderChecksumIsRefused() {
        byte[] good = RawFrame.v4().build();
        assertEquals(FrameCheck.BAD_IP_CHECKSUM, parse(anyV4(), with(RawFrame.v4(), f -> f.ipChecksum = 0)));
        for (int i = 14; i < 34; i++) { // any single changed header byte
            if (i == 14 || (i >= 16 && i <= 17)) {
                continue; // version/IHL and total length are checked before the sum
            }
            byte[] bad = good.clone();
            bad[i] ^= 0x10;
            assertEquals(FrameCheck.BAD_IP_CHECKSUM, parse(anyV4(), bad), "byte " + i);
        }
    }

    @Test
    void fragmentsAreTheKernels() {
        assertEquals(FrameCheck.FRAGMENT, parse(anyV4(), with(RawFrame.v4(), f -> f.flagsFragment = 0x2000)));
        assertEquals(FrameCheck.FRAGMENT, parse(anyV4(), with(RawFrame.v4(), f -> f.flagsFragment = 0x00B9)));
        assertEquals(FrameCheck.FRAGMENT, parse(anyV4(), with(RawFrame.v4(), f -> f.flagsFragment = 0x0001)));
        assertEquals(FrameCheck.OK, parse(anyV4(), with(RawFrame.v4(), f -> f.flagsFragment = 0)), "DF clear is fine");
        // an IPv6 fragment has a fragment header (44): not walked, the kernel's
        assertEquals(FrameCheck.NOT_UDP, parse(anyV6(), with(RawFrame.v6(), f -> f.protocol = 44)));
    }

    @Test
    void otherProtocolsAndExtensionHeadersAreNotUdp() {
        assertEquals(FrameCheck.NOT_UDP, parse(anyV4(), with(RawFrame.v4(), f -> f.protocol = 6)));
        assertEquals(FrameCheck.NOT_UDP, parse(anyV4(), with(RawFrame.v4(), f -> f.protocol = 1)));
        for (int next : new int[]{0, 6, 43, 58, 60}) {
            assertEquals(FrameCheck.NOT_UDP, parse(anyV6(), with(RawFrame.v6(), f -> f.protocol = next)), "next header " + next);
        }
    }

    @Test
    void anIpPayloadShorterThanAUdpHeaderIsRefused() {
        RawFrame f = RawFrame.v4();
        f.payload = new byte[0];
        f.totalLength = 20 + 7;
        assertEquals(FrameCheck.SHORT_UDP, parse(anyV4(), f.build()));
        RawFrame g = RawFrame.v6();
        g.payload = new byte[0];
        g.payloadLength = 7;
        assertEquals(FrameCheck.SHORT_UDP, parse(anyV6(), g.build()));
    }

    @Test
    void udpLengthsThatContradictTheIpPayloadAreRefused() {
        for (int len : new int[]{0, 7, 8 + 6, 0xFFFF}) {
            assertEquals(FrameCheck.BAD_UDP_LENGTH, parse(anyV4(), with(RawFrame.v4(), f -> f.udpLength = len)), "v4 " + len);
            assertEquals(FrameCheck.BAD_UDP_LENGTH, parse(anyV6(), with(RawFrame.v6(), f -> f.udpLength = len)), "v6 " + len);
        }
    }

    @Test
    void udpChecksumsAreVerifiedWhenAsked() {
        byte[] v4 = RawFrame.v4().build();
        byte[] v6 = RawFrame.v6().build();
        for (byte[] good : new byte[][]{v4, v6}) {
            byte[] bad = good.clone();
            bad[bad.length - 1] ^= 1; // a payload bit
            FrameParser p = good == v4 ? anyV4() : anyV6();
            assertEquals(FrameCheck.BAD_UDP_CHECKSUM, parse(p, bad));
            FrameParser lax = new FrameParser(key(good == v4 ? "0.0.0.0" : "::", PORT), false, IFINDEX, true, false, 2048);
            assertEquals(FrameCheck.OK, parse(lax, bad), "not verified when off (veth TX checksum offload)");
        }
        assertEquals(FrameCheck.OK, parse(anyV4(), with(RawFrame.v4(), f -> f.udpChecksum = -2)), "0: none, legal on IPv4");
        assertEquals(FrameCheck.BAD_UDP_CHECKSUM, parse(anyV6(), with(RawFrame.v6(), f -> f.udpChecksum = -2)),
                "0 is illegal on IPv6 (RFC 8200)");
        FrameParser lax6 = new FrameParser(key("::", PORT), false, IFINDEX, true, false, 2048);
        assertEquals(FrameCheck.BAD_UDP_CHECKSUM, parse(lax6, with(RawFrame.v6(), f -> f.udpChecksum = -2)),
                "refused even when not verifying");
    }

    @Test
    void everyFrameIsParsedWithoutThrowingAndAnOkPayloadLiesInsideIt() {
        Random random = new Random(20);
        FrameParser[] parsers = {anyV4(), anyV6(), new FrameParser(key("::", PORT), false, IFINDEX, true, false, 64)};
        byte[][] seeds = {RawFrame.v4().build(), RawFrame.v6().build(), with(RawFrame.v4(), f -> f.tags = new int[][]{{0x8100, 3}}),
                with(RawFrame.v4(), f -> {
                    f.ihl = 8;
                    f.options = new byte[12];
                })};
        int ok = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] f = seeds[i % seeds.length].clone();
            int flips = 1 + random.nextInt(3);
            for (int k = 0; k < flips; k++) {
                f[random.nextInt(f.length)] = (byte) random.nextInt(256);
            }
            int length = random.nextInt(4) == 0 ? random.nextInt(f.length + 1) : f.length;
            FrameParser p = parsers[i % parsers.length];
            if (parse(p, f, length) == FrameCheck.OK) {
                ok++;
                assertTrue(out.payloadOffset() >= 3 && out.payloadOffset() + out.payloadLength() <= 3 + length,
                        "payload inside the frame");
            }
        }
        assertTrue(ok > 0, "some mutations (the MACs, TTL, payload with checksums off) stay valid");
    }

    @Test
    void aDescriptorOutsideTheSegmentIsTheCallersBug() {
        MemorySegment umem = arena.allocate(64);
        assertThrows(IndexOutOfBoundsException.class, () -> anyV4().parse(umem, 60, 10, out));
        assertThrows(IndexOutOfBoundsException.class, () -> anyV4().parse(umem, -1, 10, out));
    }

    @Test
    void badConfigurationIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new FrameParser(key("0.0.0.0", PORT), false, 1, false, false, 0));
        assertTrue(e.getMessage().contains("0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new FrameParser(new PeerKey().setInet4(1, 0, false), false, 1, false, false, 9));
    }

    @Test
    void everyKindIsReachable() {
        // the kinds above, as a count: a new kind without a test fails here
        assertEquals(16, FrameCheck.values().length);
        assertNotEquals(FrameCheck.OK.malformed(), FrameCheck.SHORT_IP.malformed());
        assertArrayEquals(FrameCheck.values(), FrameCheck.all());
    }
}
