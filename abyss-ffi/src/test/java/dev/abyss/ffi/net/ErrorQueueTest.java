package dev.abyss.ffi.net;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;

import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ICMP port unreachable read from a real socket's error queue (IP_RECVERR / IPV6_RECVERR on loopback). */
class ErrorQueueTest {
    private final Arena arena = Arena.ofAuto();

    /** A loopback address of {@code family} whose port nobody listens on (bound, then closed). */
    private static InetSocketAddress closedPort(String host) throws IOException {
        try (DatagramChannel c = DatagramChannel.open()) {
            c.bind(new InetSocketAddress(host, 0));
            return (InetSocketAddress) c.getLocalAddress();
        }
    }

    private void portUnreachable(int family, String bindHost, String peerHost, int... options) throws Exception {
        int fd = Sockets.openDatagram(family, true);
        try {
            for (int i = 0; i < options.length; i += 2) {
                Sockets.setInt(fd, options[i], options[i + 1], 1, "RECVERR");
            }
            Sockets.bind(fd, new InetSocketAddress(bindHost, 0));
            ErrorQueue queue = new ErrorQueue(arena);
            assertEquals(0, queue.read(fd), "empty queue");
            InetSocketAddress peer = closedPort(peerHost);
            MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            PeerKey expected = new PeerKey().set(peer);
            if (family == Net.AF_INET6 && expected.family() == Net.AF_INET) {
                expected = expected.v4Mapped(); // as a dual-stack socket sends to and hears of it
            }
            int len = expected.writeTo(sa);
            MemorySegment msg = arena.allocate(MsgLayouts.MSGHDR);
            MemorySegment iov = arena.allocate(MsgLayouts.IOVEC);
            MemorySegment data = arena.allocateFrom(JAVA_BYTE, (byte) 'x');
            iov.set(java.lang.foreign.ValueLayout.ADDRESS, MsgLayouts.IOV_BASE, data);
            iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, MsgLayouts.IOV_LEN, 1);
            msg.set(java.lang.foreign.ValueLayout.ADDRESS, MsgLayouts.MSG_NAME, sa);
            msg.set(java.lang.foreign.ValueLayout.JAVA_INT, MsgLayouts.MSG_NAMELEN, len);
            msg.set(java.lang.foreign.ValueLayout.ADDRESS, MsgLayouts.MSG_IOV, iov);
            msg.set(java.lang.foreign.ValueLayout.JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
            assertEquals(1, LibC.sendmsg(fd, msg, Net.MSG_DONTWAIT));
            int r = await("an entry for the closed port (entries read)", () -> queue.read(fd), n -> n != 0);
            assertEquals(1, r, "an entry for the closed port");
            assertEquals(Errno.ECONNREFUSED, queue.errno());
            assertTrue(queue.fromIcmp(), "origin " + queue.origin());
            PeerKey got = new PeerKey();
            assertTrue(queue.peer(got));
            assertEquals(expected, got, "the entry names the peer the datagram went to");
            assertEquals(1, queue.quoteLength(), "the quote: the datagram's payload, after its UDP header");
            assertEquals('x', queue.quote().get(JAVA_BYTE, 0));
            assertTrue(!queue.quoteTruncated());
            assertEquals(0, queue.read(fd), "one entry");
            assertEquals(1, LibC.sendmsg(fd, msg, Net.MSG_DONTWAIT), "the pending error was cleared by reading the queue");
            // a longer datagram: the kernel quotes more than the reader keeps (it keeps the first QUOTE_CAPACITY bytes)
            assertEquals(1, await("the second entry", () -> queue.read(fd), n -> n != 0));
            MemorySegment longer = arena.allocate(300);
            for (int i = 0; i < 300; i++) {
                longer.set(JAVA_BYTE, i, (byte) i);
            }
            iov.set(java.lang.foreign.ValueLayout.ADDRESS, MsgLayouts.IOV_BASE, longer);
            iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, MsgLayouts.IOV_LEN, 300);
            assertEquals(300, LibC.sendmsg(fd, msg, Net.MSG_DONTWAIT));
            assertEquals(1, await("an entry for the long datagram", () -> queue.read(fd), n -> n != 0));
            assertEquals(ErrorQueue.QUOTE_CAPACITY, queue.quoteLength());
            assertTrue(queue.quoteTruncated(), "300 bytes quoted, 64 read");
            for (int i = 0; i < ErrorQueue.QUOTE_CAPACITY; i++) {
                assertEquals((byte) i, queue.quote().get(JAVA_BYTE, i), "quoted byte " + i);
            }
        } finally {
            LibC.close(fd);
        }
    }

    @Test
    void ipv4() throws Exception {
        portUnreachable(Net.AF_INET, "127.0.0.1", "127.0.0.1", Net.SOL_IP, Net.IP_RECVERR);
    }

    @Test
    void ipv6() throws Exception {
        portUnreachable(Net.AF_INET6, "::1", "::1", Net.SOL_IPV6, Net.IPV6_RECVERR);
    }

    @Test
    void ipv4PeersOfADualStackSocketNeedIpRecverr() throws Exception {
        portUnreachable(Net.AF_INET6, "::", "127.0.0.1", Net.SOL_IP, Net.IP_RECVERR, Net.SOL_IPV6, Net.IPV6_RECVERR);
    }

    @Test
    void withoutRecverrAnUnconnectedSocketHearsNothing() throws Exception {
        int fd = Sockets.openDatagram(Net.AF_INET, true);
        int control = Sockets.openDatagram(Net.AF_INET, true); // the same send, with IP_RECVERR: it hears of the ICMP error
        try (DatagramChannel sender = DatagramChannel.open()) {
            Sockets.bind(fd, new InetSocketAddress("127.0.0.1", 0));
            Sockets.setInt(control, Net.SOL_IP, Net.IP_RECVERR, 1, "RECVERR");
            Sockets.bind(control, new InetSocketAddress("127.0.0.1", 0));
            // a port that was bound and is closed now
            sender.bind(new InetSocketAddress("127.0.0.1", 0));
            InetSocketAddress gone = (InetSocketAddress) sender.getLocalAddress();
            sender.close();
            MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            int len = SockAddr.write(gone, sa);
            MemorySegment msg = arena.allocate(MsgLayouts.MSGHDR);
            msg.set(java.lang.foreign.ValueLayout.ADDRESS, MsgLayouts.MSG_NAME, sa);
            msg.set(java.lang.foreign.ValueLayout.JAVA_INT, MsgLayouts.MSG_NAMELEN, len);
            assertEquals(0, LibC.sendmsg(fd, msg, Net.MSG_DONTWAIT), "an empty datagram to a closed port");
            assertEquals(0, LibC.sendmsg(control, msg, Net.MSG_DONTWAIT), "the same from the control socket");
            // loopback answers the two sends in order: once the control socket has its entry, the answer to fd's came first
            ErrorQueue controlQueue = new ErrorQueue(arena);
            await("the control socket's entry for the closed port (entries read)", () -> controlQueue.read(control), n -> n != 0);
            assertEquals(0, new ErrorQueue(arena).read(fd), "nothing queued without IP_RECVERR");
            assertEquals(0, LibC.sendmsg(fd, msg, Net.MSG_DONTWAIT), "and no error left pending");
        } finally {
            LibC.close(fd);
            LibC.close(control);
        }
    }
}
