package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.TransportKind;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A GSO send the kernel refuses falls back to one datagram per send, for the socket, losing
 * nothing. The refusal is real: a transport allowed more segments per send than the kernel takes
 * (UDP_MAX_SEGMENTS: 64, or 128 on recent kernels) coalesces 300 of them, and the kernel answers
 * EINVAL.
 */
@Timeout(30)
class GsoFallbackTest {

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void aRefusedGsoSendIsSentDatagramByDatagramAndGsoStaysOffForTheSocket(TransportKind kind) throws Exception {
        String why = Transports.unavailableReason(kind);
        assumeTrue(why == null, () -> kind + " unavailable here: " + why);
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        RecordingSink sink = new RecordingSink();
        TransportSettings settings = new TransportSettings(64, 2048, 0, 0, true, false).withOffloads(true, 300, false);
        try (DatagramChannel client = DatagramChannel.open().bind(new InetSocketAddress(loopback, 0))) {
            client.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            Transport t = Transports.select(kind).open(settings, new InetSocketAddress(loopback, 0), true, true, sink, sink);
            try {
                PeerKey to = new PeerKey().set(client.getLocalAddress());
                MemorySegment payload = MemorySegment.ofArray(new byte[100]);
                for (int round = 0; round < 2; round++) {
                    for (int i = 0; i < 300; i++) {
                        payload.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) (round * 300 + i));
                        assertTrue(t.send(null, to, payload, 0, 100), "queued " + i);
                    }
                    t.settleSends();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (sink.sent.size() + sink.failed.size() < 300 * (round + 1) && System.nanoTime() < deadline) {
                        t.poll(10_000_000L);
                    }
                }
                assertEquals(List.of(), sink.failed, "nothing failed");
                assertEquals(600, sink.sent.size(), "every datagram reported sent once");
                assertEquals(0, sink.coalesced, "the refused send and the later ones went one by one");
                client.configureBlocking(true);
                client.socket().setSoTimeout(5000);
                ByteBuffer b = ByteBuffer.allocate(2048);
                for (int i = 0; i < 600; i++) {
                    b.clear();
                    client.receive(b);
                    assertEquals(100, b.position(), "datagram " + i + " arrives whole, alone");
                    assertEquals(i, b.order(java.nio.ByteOrder.nativeOrder()).getShort(0), "in order");
                }
            } finally {
                t.close();
            }
        }
    }
}
