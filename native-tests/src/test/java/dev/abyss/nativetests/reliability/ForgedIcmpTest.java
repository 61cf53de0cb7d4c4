package dev.abyss.nativetests.reliability;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.server.Abyss;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenario "forged ICMP": an off-path host forges ICMP port unreachables that name an
 * established peer of the server (a raw socket writes them: ICMP type 3 code 3 quoting an IPv4 and
 * UDP header from the server's address and port to the peer's, then a payload the server never sent;
 * over IPv6 the same as ICMPv6 type 1 code 4).
 * Expected: the peer's session survives, still answered, and every forgery is counted in
 * {@code unreachableForged}; a peer that really vanished (its socket closed, then the server answers
 * it) still ends its session with a PortUnreachableException; and a forgery that quotes what the
 * server did send (what an on-path host could do) is believed, which shows the forged packets reach
 * the server's socket and that the quote alone decides.
 *
 * <p>Needs a raw socket (root or CAP_NET_RAW: skipped with the reason otherwise). EPOLL and IO_URING;
 * NIO has no error queue (the JDK reads no ICMP errors), a documented skip.
 */
@Timeout(120)
class ForgedIcmpTest {
    private static final int FORGED = Reliability.size(40, 2_000);
    private static final int SOCK_RAW = 3;
    private static final int IPPROTO_ICMP = 1;
    private static final int IPPROTO_ICMPV6 = 58;

    /** Echoes; a datagram starting with 'V' is kept and answered only when a message says so. */
    private static final class Echo implements Handler<byte[]> {
        final AtomicInteger portUnreachable = new AtomicInteger();
        final AtomicInteger otherErrors = new AtomicInteger();

        @Override
        public HandlerResult<byte[]> handleData(Session session, MemorySegment data, byte[] state) {
            byte[] bytes = data.toArray(JAVA_BYTE);
            if (bytes.length > 0 && bytes[0] == 'V') {
                return HandlerResult.continueWith(bytes);
            }
            session.send(bytes);
            return HandlerResult.continueWith(bytes);
        }

        @Override
        public HandlerResult<byte[]> handleMessage(Session session, Object message, byte[] state) {
            session.send(state);
            return HandlerResult.continueWith(state);
        }

        @Override
        public void handleError(Object reason, byte[] state) {
            (reason instanceof PortUnreachableException ? portUnreachable : otherErrors).incrementAndGet();
        }
    }

    /** A raw ICMP (or ICMPv6) socket that writes port unreachables to the loopback address of its family. */
    private static final class Forger implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        private final int fd;
        private final MemorySegment msg;
        private final MemorySegment iov;
        private final MemorySegment packet = arena.allocate(1500);
        private final boolean v6;
        private int id;

        Forger(InetAddress loopback) {
            v6 = loopback instanceof java.net.Inet6Address;
            fd = v6 ? LibC.socket(Net.AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) : LibC.socket(Net.AF_INET, SOCK_RAW, IPPROTO_ICMP);
            if (fd < 0) {
                arena.close();
                Skip.unless(false, "a raw " + (v6 ? "ICMPv6" : "ICMP") + " socket is refused here (errno " + -fd
                        + "): root or CAP_NET_RAW needed");
            }
            MemorySegment to = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            int toLength = SockAddr.write(new InetSocketAddress(loopback, 0), to);
            msg = arena.allocate(MsgLayouts.MSGHDR);
            iov = arena.allocate(MsgLayouts.IOVEC);
            iov.set(ADDRESS, MsgLayouts.IOV_BASE, packet);
            msg.set(ADDRESS, MsgLayouts.MSG_NAME, to);
            msg.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, toLength);
            msg.set(ADDRESS, MsgLayouts.MSG_IOV, iov);
            msg.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
        }

        /**
         * An ICMP port unreachable as a router or the peer's host would send it about a datagram from
         * {@code server} to {@code peer}, quoting {@code quote} as that datagram's payload.
         */
        void portUnreachable(InetSocketAddress server, InetSocketAddress peer, byte[] quote) {
            int udpLength = 8 + quote.length;
            ByteBuffer b;
            if (v6) {
                // ICMPv6 destination unreachable (1), port unreachable (4); the kernel fills the checksum
                b = ByteBuffer.allocate(8 + 40 + udpLength);
                b.put((byte) 1).put((byte) 4).putShort((short) 0).putInt(0);
                b.putInt(0x6000_0000).putShort((short) udpLength).put((byte) 17).put((byte) 64) // the quoted IPv6 header: UDP
                        .put(server.getAddress().getAddress()).put(peer.getAddress().getAddress());
            } else {
                int ipLength = 20 + udpLength;
                b = ByteBuffer.allocate(8 + ipLength);
                b.put((byte) 3).put((byte) 3).putShort((short) 0).putInt(0);        // destination unreachable, port; checksum later
                b.put((byte) 0x45).put((byte) 0).putShort((short) ipLength).putShort((short) ++id).putShort((short) 0)
                        .put((byte) 64).put((byte) 17).putShort((short) 0)           // the quoted IPv4 header: UDP
                        .put(server.getAddress().getAddress()).put(peer.getAddress().getAddress());
                b.putShort(8 + 10, checksum(b.array(), 8, 20));
            }
            b.putShort((short) server.getPort()).putShort((short) peer.getPort())   // the quoted UDP header
                    .putShort((short) udpLength).putShort((short) 0);
            b.put(quote);
            if (!v6) {
                b.putShort(2, checksum(b.array(), 0, b.capacity()));
            }
            MemorySegment.copy(b.array(), 0, packet, JAVA_BYTE, 0, b.capacity());
            iov.set(JAVA_LONG, MsgLayouts.IOV_LEN, b.capacity());
            long sent = LibC.sendmsg(fd, msg, 0);
            assertEquals(b.capacity(), sent, "the raw socket sent the forged ICMP error (errno " + -sent + ")");
        }

        /** The Internet checksum (RFC 1071) of {@code length} bytes from {@code offset}. */
        private static short checksum(byte[] data, int offset, int length) {
            long sum = 0;
            for (int i = 0; i < length; i += 2) {
                int hi = data[offset + i] & 0xff;
                int lo = i + 1 < length ? data[offset + i + 1] & 0xff : 0;
                sum += (hi << 8) | lo;
            }
            while ((sum >>> 16) != 0) {
                sum = (sum & 0xffff) + (sum >>> 16);
            }
            return (short) ~sum;
        }

        @Override
        public void close() {
            LibC.close(fd);
            arena.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void forgedPortUnreachablesLeaveTheSessionAlone(TransportKind kind) throws Exception {
        forgeries(kind, InetAddress.getByName("127.0.0.1"));
    }

    /** The same over IPv6: ICMPv6 port unreachables, read through IPV6_RECVERR. */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void forgedIcmpv6PortUnreachablesLeaveTheSessionAlone(TransportKind kind) throws Exception {
        forgeries(kind, InetAddress.getByName("::1"));
    }

    private static void forgeries(TransportKind kind, InetAddress loopback) throws Exception {
        Skip.unless(kind != TransportKind.NIO, "NIO reads no ICMP errors (the JDK has no error queue): nothing to forge against");
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Echo handler = new Echo();
        try (Forger forger = new Forger(loopback);
             Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(handler).numAcceptors(2)
                     .bindAddress(loopback).readTimeout(Duration.ofSeconds(60)).shutdownTimeout(Duration.ZERO).build());
             DatagramChannel peer = DatagramChannel.open(family(loopback))) {
            InetSocketAddress to = (InetSocketAddress) server.localAddress();
            peer.bind(new InetSocketAddress(loopback, 0));
            peer.socket().setSoTimeout(5000);
            InetSocketAddress peerAddress = (InetSocketAddress) peer.getLocalAddress();
            assertEquals("A hello", roundTrip(peer, "A hello", to));

            // Forgeries: one byte off, longer, shorter, an 8-byte quote (no payload), random bytes.
            Random random = new Random(42);
            List<byte[]> quotes = new ArrayList<>();
            for (int i = 0; i < FORGED; i++) {
                quotes.add(switch (i % 5) {
                    case 0 -> "A hellp".getBytes(StandardCharsets.US_ASCII);
                    case 1 -> "A hello!".getBytes(StandardCharsets.US_ASCII);
                    case 2 -> "A hell".getBytes(StandardCharsets.US_ASCII);
                    case 3 -> new byte[0];
                    default -> {
                        byte[] r = new byte[1 + random.nextInt(200)];
                        random.nextBytes(r);
                        yield r;
                    }
                });
            }
            for (int i = 0; i < quotes.size(); i++) {
                forger.portUnreachable(to, peerAddress, quotes.get(i));
                if (i % 20 == 19) {
                    assertEquals("A " + i, roundTrip(peer, "A " + i, to), "the peer is answered between forgeries");
                }
            }
            ServerStats st = await("every forgery counted as unreachableForged", server::stats, s -> s.unreachableForged() == FORGED);
            assertEquals(0, st.sessionsUnreachable(), "no session ended by a forgery");
            assertEquals(1, server.sessions(), "the peer's session lives");
            assertEquals("A after", roundTrip(peer, "A after", to), "and is answered");
            assertEquals(0, handler.portUnreachable.get() + handler.otherErrors.get());

            // A peer that really vanished: its socket closed, the server's answer draws a true ICMP error.
            SocketAddress gone;
            try (DatagramChannel vanishing = DatagramChannel.open(family(loopback))) {
                vanishing.bind(new InetSocketAddress(loopback, 0));
                gone = vanishing.getLocalAddress();
                vanishing.send(ByteBuffer.wrap("V bye".getBytes(StandardCharsets.US_ASCII)), to);
                await("the vanishing peer's session", server::stats, s -> s.sessionsOpened() == 2);
            }
            answerUntilGone(server, gone);
            // the session leaves the table and its counter moves before its handleError has run
            await("the vanished peer's session ended in handleError(PortUnreachableException)", handler.portUnreachable::get,
                    n -> n == 1);
            assertEquals(1, server.stats().sessionsUnreachable());
            assertEquals(1, server.sessions(), "the forged-against peer's session still lives");

            // What an on-path host could do: quote what the server really sent. Believed: the quote decides.
            forger.portUnreachable(to, peerAddress, "A after".getBytes(StandardCharsets.US_ASCII));
            await("a forgery quoting the last reply ends the session", server::stats, s -> s.sessionsUnreachable() == 2);
            await("its handleError(PortUnreachableException)", handler.portUnreachable::get, n -> n == 2);
            st = server.stats();
            Reliability.figures("forged-icmp " + kind + " " + (loopback instanceof java.net.Inet6Address ? "IPv6" : "IPv4"), "%d forged port unreachables counted (unreachableForged %d of %d ICMP errors), "
                            + "0 sessions ended by them; a vanished peer's session ended; a quote of the last reply believed",
                    FORGED, st.unreachableForged(), st.unreachable());
        }
    }

    private static java.net.ProtocolFamily family(InetAddress a) {
        return a instanceof java.net.Inet6Address ? java.net.StandardProtocolFamily.INET6 : java.net.StandardProtocolFamily.INET;
    }

    /** Posts the vanished peer's session an answer each second until its ICMP error ends it (the kernel may rate-limit ICMP). */
    private static void answerUntilGone(Server server, SocketAddress gone) {
        long[] next = {System.nanoTime()};
        await("the vanished peer's session ends", Duration.ofSeconds(20), () -> {
            int[] open = {0};
            server.forEachSession(s -> {
                if (s.remoteAddress().equals(gone)) {
                    open[0]++;
                    if (System.nanoTime() - next[0] >= 0) {
                        s.post("answer");
                        next[0] = System.nanoTime() + 1_000_000_000L;
                    }
                }
            });
            return open[0];
        }, n -> n == 0);
    }

    private static String roundTrip(DatagramChannel c, String text, SocketAddress to) throws IOException {
        c.send(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)), to);
        java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
        c.socket().receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
    }
}
