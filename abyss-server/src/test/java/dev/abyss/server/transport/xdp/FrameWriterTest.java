package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Replies built by {@link FrameWriter}, checked field by field and against the reference checksums
 * of {@link RawFrame} (an independent, textbook computation) and a published vector; then parsed
 * back by {@link FrameParser} with verification on.
 */
class FrameWriterTest {
    private static final long CLIENT_MAC = 0x02_00_00_00_00_02L;
    private static final long SERVER_MAC = 0x02_00_00_00_00_01L;
    private final Arena arena = Arena.ofAuto();
    private final FrameWriter writer = new FrameWriter(64, 64, true);

    static NextHop hop(int tci) {
        return new NextHop().set(CLIENT_MAC, SERVER_MAC, tci);
    }

    static byte[] bytes(MemorySegment s, long at, int length) {
        return s.asSlice(at, length).toArray(JAVA_BYTE);
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) << 8 | b[at + 1] & 0xFF;
    }

    @Test
    void theChecksumMatchesAPublishedVector() {
        // the IPv4 header of Wikipedia's "Internet checksum" example: checksum b861
        byte[] h = HexFormat.of().parseHex("450000730000400040110000c0a80001c0a800c7");
        MemorySegment s = MemorySegment.ofArray(h);
        assertEquals(0xB861, Checksum.finish(Checksum.add(s, 0, h.length, 0)));
        assertEquals(0xB861, RawFrame.referenceChecksum(h, 0, h.length));
    }

    @Test
    void theSumAgreesWithTheReferenceForEveryLengthAndAlignment() {
        Random random = new Random(1071);
        MemorySegment s = arena.allocate(2048);
        for (int length = 0; length <= 300; length++) {
            for (int offset = 0; offset < 8; offset++) {
                byte[] data = new byte[length];
                random.nextBytes(data);
                if (length > 3 && offset == 0) {
                    Arrays.fill(data, (byte) 0xFF); // carries everywhere
                }
                MemorySegment.copy(data, 0, s, JAVA_BYTE, offset, length);
                assertEquals(RawFrame.referenceChecksum(data, 0, length), Checksum.finish(Checksum.add(s, offset, length, 0)),
                        "length " + length + " at " + offset);
            }
        }
        byte[] big = new byte[65535];
        Arrays.fill(big, (byte) 0xFF);
        MemorySegment b = MemorySegment.ofArray(big);
        assertEquals(RawFrame.referenceChecksum(big, 0, big.length), Checksum.finish(Checksum.add(b, 0, big.length, 0xFFFF_FFFFL)));
    }

    @Test
    void anIpv4ReplyIsWhatTheSocketPathWouldSend() {
        MemorySegment umem = arena.allocate(4096);
        byte[] payload = "a reply".getBytes();
        PeerKey to = FrameParserTest.key("198.18.0.2", 40000);
        PeerKey from = FrameParserTest.key("198.18.0.1", 5353);
        int n = writer.write(umem, 5, 2048, hop(NextHop.UNTAGGED), to, from, 0xB9, MemorySegment.ofArray(payload), 0, payload.length);
        assertEquals(14 + 20 + 8 + payload.length, n);
        byte[] f = bytes(umem, 5, n);
        RawFrame expected = RawFrame.v4();
        expected.dstMac = new byte[]{2, 0, 0, 0, 0, 2};
        expected.srcMac = new byte[]{2, 0, 0, 0, 0, 1};
        expected.src = new byte[]{(byte) 198, 18, 0, 1};
        expected.dst = new byte[]{(byte) 198, 18, 0, 2};
        expected.srcPort = 5353;
        expected.dstPort = 40000;
        expected.tos = 0xB9;
        expected.id = 0; // an unconnected socket's DF datagrams carry id 0
        expected.flagsFragment = 0x4000;
        expected.ttl = 64;
        expected.payload = payload;
        assertEquals(HexFormat.of().formatHex(expected.build()), HexFormat.of().formatHex(f), "byte for byte, checksums included");
        FrameParser client = new FrameParser(to, false, 1, true, true, 2048);
        ReceivedFrame r = new ReceivedFrame();
        assertEquals(FrameCheck.OK, client.parse(umem, 5, n, r), "the peer's parser accepts it, checksums verified");
        assertEquals(from, r.source());
        assertEquals(0xB9, r.trafficClass());
        assertEquals(SERVER_MAC, r.hop().remoteMac());
    }

    @Test
    void anIpv6ReplyIsWhatTheSocketPathWouldSend() {
        MemorySegment umem = arena.allocate(4096);
        byte[] payload = new byte[1200];
        new Random(6).nextBytes(payload);
        PeerKey to = FrameParserTest.key("fd00::2", 40000);
        PeerKey from = FrameParserTest.key("fd00::1", 5353);
        int n = writer.write(umem, 0, 2048, hop(NextHop.UNTAGGED), to, from, 0x2E, MemorySegment.ofArray(payload), 0, payload.length);
        assertEquals(14 + 40 + 8 + 1200, n);
        byte[] f = bytes(umem, 0, n);
        assertEquals(0x86DD, u16(f, 12));
        int first = (f[14] & 0xFF) << 24 | (f[15] & 0xFF) << 16 | (f[16] & 0xFF) << 8 | f[17] & 0xFF;
        assertEquals(6, first >>> 28);
        assertEquals(0x2E, (first >>> 20) & 0xFF);
        int label = first & 0xFFFFF;
        assertEquals(8 + 1200, u16(f, 18));
        assertEquals(17, f[20]);
        assertEquals(64, f[21]);
        assertArrayEquals(RawFrame.addr6("fd00::1"), Arrays.copyOfRange(f, 22, 38));
        assertArrayEquals(RawFrame.addr6("fd00::2"), Arrays.copyOfRange(f, 38, 54));
        byte[] udp = Arrays.copyOfRange(f, 54, n);
        assertEquals(5353, u16(udp, 0));
        assertEquals(40000, u16(udp, 2));
        assertEquals(8 + 1200, u16(udp, 4));
        assertEquals(RawFrame.referenceUdpChecksum(RawFrame.addr6("fd00::1"), RawFrame.addr6("fd00::2"), udp), u16(udp, 6));
        assertArrayEquals(payload, Arrays.copyOfRange(udp, 8, udp.length));
        int again = writer.write(umem, 0, 2048, hop(NextHop.UNTAGGED), to, from, 0, MemorySegment.ofArray(payload), 0, 10);
        assertEquals(label, ((umem.get(JAVA_BYTE, 15) & 0xF) << 16 | (umem.get(JAVA_BYTE, 16) & 0xFF) << 8
                | umem.get(JAVA_BYTE, 17) & 0xFF), "one flow, one label");
        assertEquals(14 + 40 + 8 + 10, again);
        ReceivedFrame r = new ReceivedFrame();
        assertEquals(FrameCheck.OK, new FrameParser(to, false, 1, true, true, 2048).parse(umem, 0, again, r));
        assertEquals(from, r.source());
    }

    @Test
    void aTaggedRequestGetsATaggedReply() {
        MemorySegment umem = arena.allocate(4096);
        PeerKey to = FrameParserTest.key("198.18.0.2", 40000);
        PeerKey from = FrameParserTest.key("198.18.0.1", 5353);
        int n = writer.write(umem, 0, 2048, hop(0x2064), to, from, -1, MemorySegment.ofArray("x".getBytes()), 0, 1);
        byte[] f = bytes(umem, 0, n);
        assertEquals(18 + 20 + 8 + 1, n);
        assertEquals(0x8100, u16(f, 12));
        assertEquals(0x2064, u16(f, 14));
        assertEquals(0x0800, u16(f, 16));
        assertEquals(0, f[19], "traffic class -1 is the socket's default, 0");
        assertEquals(0, RawFrame.referenceChecksum(f, 18, 20) & 0xFFFF, "the header sums to 0xFFFF");
        ReceivedFrame r = new ReceivedFrame();
        assertEquals(FrameCheck.OK, new FrameParser(to, false, 1, true, true, 2048).parse(umem, 0, n, r));
        assertEquals(0x2064, r.hop().vlanTci());
    }

    @Test
    void aReplyIsBuiltInTheRequestsOwnFrame() {
        // a tagged request with IPv4 options: the reply's headers are shorter, the payload moves
        RawFrame req = RawFrame.v4();
        req.tags = new int[][]{{0x8100, 42}};
        req.ihl = 7;
        req.options = new byte[8];
        req.payload = "echo me, in place".getBytes();
        byte[] request = req.build();
        MemorySegment umem = arena.allocate(2048);
        MemorySegment.copy(request, 0, umem, JAVA_BYTE, 0, request.length);
        ReceivedFrame r = new ReceivedFrame();
        assertEquals(FrameCheck.OK, FrameParserTest.anyV4().parse(umem, 0, request.length, r));
        int n = writer.write(umem, 0, 2048, r.hop(), r.source(), r.destinationKey(), r.receivedTrafficClass(), umem,
                r.payloadOffset(), r.payloadLength());
        assertEquals(18 + 20 + 8 + req.payload.length, n);
        ReceivedFrame back = new ReceivedFrame();
        PeerKey client = FrameParserTest.key("198.18.0.2", 40000);
        assertEquals(FrameCheck.OK, new FrameParser(client, false, 1, true, true, 2048).parse(umem, 0, n, back));
        assertArrayEquals(req.payload, bytes(umem, back.payloadOffset(), back.payloadLength()));
        assertEquals(FrameParserTest.key("198.18.0.1", 5353), back.source());
        assertEquals(0x02_00_00_00_00_01L, back.hop().remoteMac(), "MACs swapped");
        assertEquals(42, back.hop().vlanTci());
    }

    @Test
    void aV4MappedPeerGetsAnIpv4Frame() {
        MemorySegment umem = arena.allocate(2048);
        PeerKey to = new PeerKey().setInet4(0xC6120002, 40000, true);
        PeerKey from = new PeerKey().setInet4(0xC6120001, 5353, true);
        int n = writer.write(umem, 0, 2048, hop(NextHop.UNTAGGED), to, from, 0, MemorySegment.ofArray(new byte[3]), 0, 3);
        assertEquals(14 + 20 + 8 + 3, n);
        assertEquals(0x0800, u16(bytes(umem, 0, n), 12));
    }

    @Test
    void aComputedZeroChecksumIsSentAsAllOnes() {
        MemorySegment umem = arena.allocate(2048);
        PeerKey to = FrameParserTest.key("198.18.0.2", 40000);
        PeerKey from = FrameParserTest.key("198.18.0.1", 5353);
        byte[] payload = new byte[2];
        int n = writer.write(umem, 0, 2048, hop(NextHop.UNTAGGED), to, from, 0, MemorySegment.ofArray(payload), 0, 2);
        int c = u16(bytes(umem, 0, n), 40);
        // a payload word equal to the checksum of the zero payload makes the sum 0xFFFF: checksum 0
        payload[0] = (byte) (c >> 8);
        payload[1] = (byte) c;
        n = writer.write(umem, 0, 2048, hop(NextHop.UNTAGGED), to, from, 0, MemorySegment.ofArray(payload), 0, 2);
        byte[] f = bytes(umem, 0, n);
        assertEquals(0xFFFF, u16(f, 40));
        assertEquals(0xFFFF, RawFrame.referenceUdpChecksum(from.inetAddress().getAddress(), to.inetAddress().getAddress(),
                Arrays.copyOfRange(f, 34, n)));
    }

    @Test
    void theIpv4UdpChecksumCanBeLeftOut() {
        MemorySegment umem = arena.allocate(2048);
        FrameWriter noSum = new FrameWriter(32, 64, false);
        int n = noSum.write(umem, 0, 2048, hop(NextHop.UNTAGGED), FrameParserTest.key("198.18.0.2", 40000),
                FrameParserTest.key("198.18.0.1", 5353), 0, MemorySegment.ofArray(new byte[9]), 0, 9);
        byte[] f = bytes(umem, 0, n);
        assertEquals(0, u16(f, 40));
        assertEquals(32, f[22]);
        int v6 = noSum.write(umem, 0, 2048, hop(NextHop.UNTAGGED), FrameParserTest.key("fd00::2", 40000),
                FrameParserTest.key("fd00::1", 5353), 0, MemorySegment.ofArray(new byte[9]), 0, 9);
        assertNotEquals(0, u16(bytes(umem, 0, v6), 60), "mandatory on IPv6");
    }

    @Test
    void refusalsAreCountedNotThrown() {
        MemorySegment umem = arena.allocate(70000);
        MemorySegment p = arena.allocate(70000);
        PeerKey to = FrameParserTest.key("198.18.0.2", 40000);
        PeerKey from = FrameParserTest.key("198.18.0.1", 5353);
        assertEquals(FrameWriter.UNKNOWN_HOP, writer.write(umem, 0, 2048, new NextHop(), to, from, 0, p, 0, 1));
        assertEquals(FrameWriter.NO_SOURCE, writer.write(umem, 0, 2048, hop(-1), to, null, 0, p, 0, 1));
        assertEquals(FrameWriter.NO_SOURCE, writer.write(umem, 0, 2048, hop(-1), to, FrameParserTest.key("0.0.0.0", 5353), 0, p, 0, 1));
        assertEquals(FrameWriter.NO_SOURCE, writer.write(umem, 0, 2048, hop(-1), to, FrameParserTest.key("198.18.0.1", 0), 0, p, 0, 1));
        assertEquals(FrameWriter.FAMILY_MISMATCH, writer.write(umem, 0, 2048, hop(-1), to, FrameParserTest.key("fd00::1", 5353), 0, p, 0, 1));
        assertEquals(FrameWriter.TOO_LARGE, writer.write(umem, 0, 2048, hop(-1), to, from, 0, p, 0, 2048 - 42 + 1));
        assertEquals(2048, writer.write(umem, 0, 2048, hop(-1), to, from, 0, p, 0, 2048 - 42));
        assertEquals(FrameWriter.TOO_LARGE, writer.write(umem, 0, 70000, hop(-1), to, from, 0, p, 0, 65507 + 1));
        assertEquals(14 + 65535, writer.write(umem, 0, 70000, hop(-1), to, from, 0, p, 0, 65507));
        PeerKey to6 = FrameParserTest.key("fd00::2", 40000);
        PeerKey from6 = FrameParserTest.key("fd00::1", 5353);
        assertEquals(FrameWriter.TOO_LARGE, writer.write(umem, 0, 70000, hop(-1), to6, from6, 0, p, 0, 65527 + 1));
        assertEquals(14 + 40 + 65535, writer.write(umem, 0, 70000, hop(-1), to6, from6, 0, p, 0, 65527));
        assertTrue(new ReceivedFrame().toString().contains("unknown"));
    }
}
