package dev.abyss.loopback;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.Net;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Peers of one real socket, each seen from its own 127.a.b.c source address, and a reply to one coming back. */
class LoopbackPeersTest {
    @Test
    void eachPeerSendsFromItsOwnAddressAndRepliesComeBack() throws Exception {
        try (DatagramChannel server = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             LoopbackPeers peers = new LoopbackPeers(server.getLocalAddress(), 1 << 20);
             Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocateFrom(JAVA_BYTE, "hello!".getBytes());
            ByteBuffer in = ByteBuffer.allocate(64);
            for (int n : new int[]{0, 70_000}) {
                assertEquals(5, peers.send(n, data, 5, 0));
                in.clear();
                InetSocketAddress from = (InetSocketAddress) server.receive(in);
                assertEquals(LoopbackPeers.peer(n, peers.port()), from, "peer " + n);
                assertEquals(5, in.position());

                server.send(ByteBuffer.wrap(new byte[]{(byte) n, 1, 2}), from);
                MemorySegment back = arena.allocate(16);
                assertEquals(3, peers.receive(back, 0), "the reply to peer " + n + " reaches the one socket");
                assertEquals((byte) n, back.get(JAVA_BYTE, 0));
            }
            assertEquals(new InetSocketAddress("127.1.0.0", peers.port()), LoopbackPeers.peer(0, peers.port()));
            assertEquals(new InetSocketAddress("127.2.17.112", 9), LoopbackPeers.peer(70_000, 9));
            assertEquals(-Errno.EAGAIN, peers.receive(arena.allocate(16), Net.MSG_DONTWAIT), "nothing more queued");
        }
    }

    @Test
    void peerNumbersMapOntoLoopbackAddresses() {
        assertEquals(0x7F01_0000, LoopbackPeers.address(0));
        assertEquals(0x7F02_1170, LoopbackPeers.address(70_000)); // 127.2.17.112
        assertEquals(0x7FFF_FFFE, LoopbackPeers.address(LoopbackPeers.MAX_PEERS - 1));
        assertThrows(IllegalArgumentException.class, () -> LoopbackPeers.address(-1));
        assertThrows(IllegalArgumentException.class, () -> LoopbackPeers.address(LoopbackPeers.MAX_PEERS));
        assertThrows(IllegalArgumentException.class, () -> new LoopbackPeers(new InetSocketAddress("::1", 9)));
    }
}
