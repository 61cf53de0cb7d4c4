package dev.abyss.ffi.net;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ControlMessagesTest {
    private final Arena arena = Arena.ofAuto();

    /** Writes one control message at {@code at} with a 4-byte value; returns the offset after it (CMSG_NXTHDR). */
    private static long put(MemorySegment c, long at, int level, int type, int value) {
        c.set(JAVA_LONG, at + MsgLayouts.CMSG_LEN_FIELD, MsgLayouts.cmsgLen(4));
        c.set(JAVA_INT, at + MsgLayouts.CMSG_LEVEL, level);
        c.set(JAVA_INT, at + MsgLayouts.CMSG_TYPE, type);
        c.set(JAVA_INT, at + MsgLayouts.CMSG_DATA_OFFSET, value);
        return at + MsgLayouts.cmsgSpace(4);
    }

    @Test
    void findsAControlMessageAmongOthers() {
        MemorySegment c = arena.allocate(256, 8);
        long end = put(c, 8, Net.SOL_IP, Net.IP_PKTINFO, 7);
        end = put(c, end, Net.SOL_SOCKET, Net.SO_RXQ_OVFL, 42);
        long length = end - 8;
        assertEquals(42, ControlMessages.rxqOverflow(c, 8, length));
        assertEquals(8 + MsgLayouts.CMSG_DATA_OFFSET, ControlMessages.find(c, 8, length, Net.SOL_IP, Net.IP_PKTINFO));
        assertEquals(-1, ControlMessages.find(c, 8, length, Net.SOL_IPV6, Net.IPV6_RECVERR));
        assertEquals(-1, ControlMessages.rxqOverflow(c, 8, 0), "no control bytes, no count");
    }

    @Test
    void theCountIsUnsigned() {
        MemorySegment c = arena.allocate(64, 8);
        long end = put(c, 0, Net.SOL_SOCKET, Net.SO_RXQ_OVFL, -1);
        assertEquals(0xFFFF_FFFFL, ControlMessages.rxqOverflow(c, 0, end));
    }

    @Test
    void aMalformedOrTruncatedSequenceEndsTheWalk() {
        MemorySegment c = arena.allocate(64, 8);
        long end = put(c, 0, Net.SOL_SOCKET, Net.SO_RXQ_OVFL, 5);
        assertEquals(-1, ControlMessages.rxqOverflow(c, 0, end - 8), "cmsg_len past the region (MSG_CTRUNC)");
        c.set(JAVA_LONG, 0, 3); // shorter than a header
        assertEquals(-1, ControlMessages.rxqOverflow(c, 0, end));
    }

    /** The kernel's own control message: a socket with SO_RXQ_OVFL that dropped stamps its count on later datagrams. */
    @Test
    void theKernelStampsTheDropCountOnDatagramsAfterADrop() throws NativeException, IOException {
        int fd = Sockets.openDatagram(Net.AF_INET, true);
        try (DatagramChannel client = DatagramChannel.open()) {
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RXQ_OVFL, 1, "SO_RXQ_OVFL");
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, 4096, "SO_RCVBUF");
            Sockets.bind(fd, new InetSocketAddress("127.0.0.1", 0));
            SocketAddress to = Sockets.localAddress(fd);
            MessageBatch batch = new MessageBatch(arena, 64, 2048, (int) MsgLayouts.cmsgSpace(4));
            client.send(ByteBuffer.allocate(100), to);
            assertEquals(1, batch.receive(fd, 64, Net.MSG_DONTWAIT));
            assertEquals(0, batch.controlLength(0), "no drop yet: no control message");
            for (int i = 0; i < 200; i++) {
                client.send(ByteBuffer.allocate(200), to);
            }
            int queued = 0;
            for (int n; (n = batch.receive(fd, 64, Net.MSG_DONTWAIT)) > 0; ) {
                queued += n;
            }
            int dropped = 200 - queued;
            assertTrue(dropped > 0, "a 4 KiB buffer cannot hold 200 datagrams");
            client.send(ByteBuffer.allocate(10), to);
            assertEquals(1, batch.receive(fd, 64, Net.MSG_DONTWAIT));
            assertEquals(dropped, ControlMessages.rxqOverflow(batch.controls(), batch.controlOffset(0), batch.controlLength(0)));
        } finally {
            LibC.close(fd);
        }
    }
}
