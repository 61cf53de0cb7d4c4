package dev.abyss.nativetests;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.transport.xdp.FrameCheck;
import dev.abyss.server.transport.xdp.FrameParser;
import dev.abyss.server.transport.xdp.FrameWriter;
import dev.abyss.server.transport.xdp.NextHop;
import dev.abyss.server.transport.xdp.ReceivedFrame;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The namespace pair of the AF_XDP tests ({@link VethPair}) and, through it, the frame codec against
 * the kernel: frames {@link FrameWriter} builds, put on the wire with an AF_PACKET socket, must pass
 * the receiving kernel's IP and UDP checks (a bad checksum is dropped there, which a negative control
 * shows); frames the kernel's socket path sends, captured with AF_PACKET, must pass
 * {@link FrameParser} with checksum verification on. The raw sockets are a short Python program
 * (python3 is on the test machine; the test skips without it).
 */
class VethPairTest {
    private static final int PORT = 5354;

    /**
     * One process in two namespaces: the AF_PACKET socket is made in the server's, the UDP socket in
     * the client's (setns between them; a socket keeps the namespace it was made in).
     * inject SERVER_NS CLIENT_NS FAMILY PORT FRAME_HEX: sends the frame from veth-s, prints
     * "GOT addr port payloadhex" for what the client's UDP socket receives within 2 s, else "NONE".
     * capture SERVER_NS CLIENT_NS FAMILY PORT PAYLOAD_HEX: the client's kernel sends the payload to the
     * server's port; prints "FRAME hex" for the first UDP frame to that port seen on veth-s.
     */
    private static final String RAW = """
            import ctypes, os, select, socket, struct, sys, time
            libc = ctypes.CDLL(None, use_errno=True)
            def enter(ns):
                fd = os.open('/run/netns/' + ns, os.O_RDONLY)
                if libc.setns(fd, 0x40000000) != 0:
                    raise OSError(ctypes.get_errno(), 'setns ' + ns)
                os.close(fd)
            mode, sns, cns, fam, port, data = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), bytes.fromhex(sys.argv[6])
            enter(sns)
            raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            raw.bind(('veth-s', 0))
            enter(cns)
            af = socket.AF_INET6 if fam == '6' else socket.AF_INET
            udp = socket.socket(af, socket.SOCK_DGRAM)
            if mode == 'inject':
                udp.bind(('fd00::2' if fam == '6' else '198.18.0.2', port))
                raw.send(data)
                r, _, _ = select.select([udp], [], [], 2)
                if r:
                    payload, peer = udp.recvfrom(65535)
                    print('GOT', peer[0], peer[1], payload.hex(), flush=True)
                else:
                    print('NONE', flush=True)
            else:
                udp.sendto(data, ('fd00::1' if fam == '6' else '198.18.0.1', port))
                deadline = time.time() + 2
                while time.time() < deadline:
                    r, _, _ = select.select([raw], [], [], max(0, deadline - time.time()))
                    if not r:
                        break
                    f = raw.recv(65535)
                    et = struct.unpack('!H', f[12:14])[0]
                    if et == 0x0800 and f[23] == 17 and struct.unpack('!H', f[14 + (f[14] & 15) * 4 + 2:][:2])[0] == port:
                        print('FRAME', f.hex(), flush=True); break
                    if et == 0x86DD and f[20] == 17 and struct.unpack('!H', f[56:58])[0] == port:
                        print('FRAME', f.hex(), flush=True); break
                else:
                    print('NONE', flush=True)
            """;

    private static NetworkNamespace.Run raw(VethPair pair, String mode, String family, String hex) {
        Skip.unless(NetworkNamespace.sh("command -v python3", 10).code() == 0, "python3 is not installed (the raw-socket helper)");
        return NetworkNamespace.run(List.of("python3", "-c", RAW, mode, pair.serverNs(), pair.clientNs(), family,
                Integer.toString(PORT), hex), 20);
    }

    @Test
    void thePairIsWiredWithItsQueuesAndRemovedEvenWhenTheTestFails() {
        VethPair kept;
        try (VethPair pair = VethPair.create("wire", 2, false)) {
            kept = pair;
            assertTrue(pair.exists());
            NetworkNamespace.Run queues = pair.inServer("ls /sys/class/net/veth-s/queues", 10);
            assertTrue(queues.output().contains("rx-0") && queues.output().contains("rx-1"), queues.describe());
            assertEquals(2, pair.queues());
            for (String target : List.of(VethPair.SERVER_V4, VethPair.SERVER_V6)) {
                NetworkNamespace.Run ping = pair.inClient("ping -c1 -W2 " + target, 10);
                assertEquals(0, ping.code(), ping.describe());
            }
            NetworkNamespace.Run neighbours = pair.inClient("ip neigh show dev veth-c", 10);
            assertTrue(neighbours.output().contains(pair.serverMac()) && neighbours.output().contains("PERMANENT"), neighbours.describe());
            NetworkNamespace.Run nothingElse = pair.inServer("ip route get 8.8.8.8", 10);
            assertTrue(nothingElse.code() != 0, "no route out of the pair: " + nothingElse.describe());
        }
        assertFalse(kept.exists(), "closed: both namespaces gone");
        VethPair[] failing = new VethPair[1];
        assertThrows(IllegalStateException.class, () -> {
            try (VethPair pair = VethPair.create("fail", 1, false)) {
                failing[0] = pair;
                throw new IllegalStateException("a failing test body");
            }
        });
        assertFalse(failing[0].exists(), "removed after a failure too");
    }

    @ParameterizedTest
    @ValueSource(strings = {"4", "6"})
    void framesTheCodecWritesPassTheKernelsChecks(String family) {
        try (VethPair pair = VethPair.create("inj" + family, 1, true)) {
            boolean v6 = family.equals("6");
            PeerKey client = new PeerKey().set(new InetSocketAddress(v6 ? VethPair.CLIENT_V6 : VethPair.CLIENT_V4, PORT));
            PeerKey server = new PeerKey().set(new InetSocketAddress(v6 ? VethPair.SERVER_V6 : VethPair.SERVER_V4, 40001));
            NextHop hop = new NextHop().set(VethPair.macNumber(pair.clientMac()), VethPair.macNumber(pair.serverMac()), NextHop.UNTAGGED);
            byte[] payload = new byte[1200];
            for (int i = 0; i < payload.length; i++) {
                payload[i] = (byte) (i * 7 + 3);
            }
            MemorySegment frame = MemorySegment.ofArray(new byte[2048]);
            int n = new FrameWriter(64, 64, true).write(frame, 0, 2048, hop, client, server, 0x20, MemorySegment.ofArray(payload), 0,
                    payload.length);
            byte[] bytes = frame.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            NetworkNamespace.Run good = raw(pair, "inject", family, HexFormat.of().formatHex(bytes));
            assertTrue(good.output().startsWith("GOT " + (v6 ? VethPair.SERVER_V6 : VethPair.SERVER_V4) + " 40001 "
                    + HexFormat.of().formatHex(payload)), "the client's kernel accepted the codec's frame: " + good.describe());
            // the negative control: one payload bit off, the checksum no longer holds, the kernel drops it
            bytes[bytes.length - 1] ^= 1;
            NetworkNamespace.Run bad = raw(pair, "inject", family, HexFormat.of().formatHex(bytes));
            assertTrue(bad.output().startsWith("NONE"), "a frame with a wrong UDP checksum reaches no socket: " + bad.describe());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"4", "6"})
    void framesTheKernelWritesPassTheCodecsChecks(String family) {
        try (VethPair pair = VethPair.create("cap" + family, 1, true)) {
            boolean v6 = family.equals("6");
            byte[] payload = "a datagram from the kernel's socket path, odd length".getBytes();
            NetworkNamespace.Run cap = raw(pair, "capture", family, HexFormat.of().formatHex(payload));
            assertTrue(cap.output().startsWith("FRAME "), cap.describe());
            byte[] f = HexFormat.of().parseHex(cap.output().substring(6).strip());
            FrameParser parser = new FrameParser(new PeerKey().set(new InetSocketAddress(v6 ? "::" : "0.0.0.0", PORT)), false,
                    pair.serverIfindex(), true, true, 2048);
            ReceivedFrame r = new ReceivedFrame();
            MemorySegment s = MemorySegment.ofArray(f);
            assertEquals(FrameCheck.OK, parser.parse(s, 0, f.length, r), "checksums verified: " + cap.output());
            assertEquals(new PeerKey().set(new InetSocketAddress(v6 ? VethPair.SERVER_V6 : VethPair.SERVER_V4, PORT)), r.destinationKey());
            assertEquals(new PeerKey().set(new InetSocketAddress(v6 ? VethPair.CLIENT_V6 : VethPair.CLIENT_V4, r.source().port())),
                    r.source());
            assertEquals(VethPair.macNumber(pair.clientMac()), r.hop().remoteMac());
            assertEquals(VethPair.macNumber(pair.serverMac()), r.hop().localMac());
            assertEquals(new String(payload), new String(s.asSlice(r.payloadOffset(), r.payloadLength()).toArray(ValueLayout.JAVA_BYTE)));
        }
    }
}
