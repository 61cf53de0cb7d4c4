package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static dev.abyss.nativetests.reliability.Reliability.figures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenario "transport faults": a transport that cannot work here, and a socket
 * descriptor closed behind an acceptor's back.
 */
@Timeout(120)
class TransportFaultsTest {

    /**
     * io_uring made unavailable ({@code -Dabyss.transport.unavailable=io_uring}, as a kernel with
     * io_uring disabled would be): AUTO falls back to EPOLL, logs why once, and serves; an explicit
     * IO_URING request fails with the reason. With io_uring and epoll off, AUTO falls back to NIO.
     * In a child JVM, and in this JVM by setting and clearing the property (it is read at each
     * selection).
     */
    @Test
    void autoFallsBackWhenIoUringIsUnavailable() throws Exception {
        Skip.ifUnavailable("transport " + TransportKind.EPOLL, Transports.unavailableReason(TransportKind.EPOLL));
        Reliability.Child c = Reliability.runChild(FallbackChild.class, List.of("-Dabyss.transport.unavailable=io_uring"), List.of(),
                Duration.ofSeconds(60));
        assertEquals(0, c.exitCode(), c.describe());
        long fallbackLogs = c.stderr().lines().filter(l -> l.contains("io_uring unavailable") && l.contains("using epoll")).count();
        Reliability.Child nio = Reliability.runChild(FallbackChild.class, List.of("-Dabyss.transport.unavailable=io_uring,epoll"),
                List.of(), Duration.ofSeconds(60));
        assertEquals(0, nio.exitCode(), nio.describe());

        // in this JVM: the property is read at each selection
        String was = System.getProperty("abyss.transport.unavailable");
        TransportKind withProperty;
        TransportKind withoutProperty;
        try {
            System.setProperty("abyss.transport.unavailable", "io_uring");
            withProperty = autoServerTransport();
            System.clearProperty("abyss.transport.unavailable");
            withoutProperty = autoServerTransport();
        } finally {
            if (was == null) {
                System.clearProperty("abyss.transport.unavailable");
            } else {
                System.setProperty("abyss.transport.unavailable", was);
            }
        }
        figures("transport-fallback", "child JVM with io_uring off: AUTO chose %s, answered %s, fallback logged %d time(s), explicit "
                        + "IO_URING -> %s; with io_uring and epoll off: AUTO chose %s, answered %s; in-process: property set -> %s, "
                        + "cleared -> %s", c.str("transport"), c.str("answered"), fallbackLogs, c.str("explicitIoUring").replace('_', ' '),
                nio.str("transport"), nio.str("answered"), withProperty, withoutProperty);
        assertEquals("EPOLL", c.str("transport"), "AUTO fell back to EPOLL: " + c.describe());
        assertEquals("true", c.str("answered"), "and serves");
        assertEquals(1, fallbackLogs, "the fallback is logged once, with its reason: " + c.stderr());
        assertTrue(c.str("explicitIoUring").startsWith("IllegalStateException:")
                && c.str("explicitIoUring").contains("abyss.transport.unavailable"), "an explicit IO_URING request fails, saying why");
        assertEquals("NIO", nio.str("transport"), nio.describe());
        assertEquals("true", nio.str("answered"));
        assertEquals(TransportKind.EPOLL, withProperty);
        assertEquals(Transports.unavailableReason(TransportKind.IO_URING) == null ? TransportKind.IO_URING : TransportKind.EPOLL,
                withoutProperty, "cleared, AUTO picks the best transport again");
    }

    private static TransportKind autoServerTransport() throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                session.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        try (Server server = Abyss.start(ServerConfig.builder().handler(echo).bindAddress(loopback).numAcceptors(1)
                .shutdownTimeout(Duration.ofMillis(100)).build());
             DatagramSocket c = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
            c.setSoTimeout(5000);
            byte[] b = "auto".getBytes(StandardCharsets.UTF_8);
            c.send(new DatagramPacket(b, b.length, server.localAddress()));
            DatagramPacket p = new DatagramPacket(new byte[16], 16);
            c.receive(p);
            assertEquals("auto", new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8));
            return server.transport();
        }
    }

    /**
     * One of the two acceptors' socket descriptors closed with close(2) behind the server's back
     * ({@link ClosedSocketChild}, in a child JVM: the closed number must not be reused by anything
     * else meanwhile, and nothing in this JVM may use it after). What the server does, for 64 peers
     * it answered before:
     * <ul>
     *   <li>All transports: nothing hangs and nothing spins; {@code stop(2 s)} returns at once and
     *       frees everything, and the lost descriptor is never closed a second time (its number
     *       may belong to someone else by then).</li>
     *   <li>EPOLL, NIO: closing the last reference to a socket takes it out of the SO_REUSEPORT
     *       group, so the kernel sends every peer to the other acceptor, which serves all 64 (those of
     *       the closed socket in a second session; their old one ends at its timeout). The deaf
     *       acceptor waits and stops quietly; nothing is lost, nothing to report.</li>
     *   <li>IO_URING: the armed multishot RECVMSG holds its own reference to the socket, so it stays
     *       in the group and keeps receiving, but nothing can be sent: the first reply that fails with
     *       EBADF makes the acceptor give up ({@code SocketLostException}) and the server stops,
     *       loudly, with the reason in {@code failure()}, rather than swallow every reply of half
     *       its peers.</li>
     * </ul>
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aSocketClosedUnderneathAnAcceptor(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Reliability.Child c = Reliability.runChild(ClosedSocketChild.class, List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=info"),
                List.of(kind.name()), Duration.ofSeconds(90));
        assertEquals(0, c.exitCode(), "the child ran to its end (a hang would be killed at 90 s): " + c.describe());
        long errorLogs = c.stderr().lines().filter(l -> l.contains(" ERROR ")).count();
        figures("closed-socket", "%s: fd %s of sockets %s closed underneath: peers answered before %d/64, after %d, %d, %d/64; "
                        + "%d datagrams handled after; acceptor CPU %s%% of a core over 3 s; while running failure()=%s, "
                        + "acceptorFailures %d, receiveErrors %d, sendErrors %d; stop(2 s) returned %s in %d ms, failure() after stop=%s; "
                        + "%d ERROR log entries",
                kind, c.str("closedFd"), c.str("socketFds"), c.num("answeredBefore"), c.num("answeredAfter0"), c.num("answeredAfter1"),
                c.num("answeredAfter2"), c.num("handledAfterClose"), c.str("acceptorCpuPercent"), c.str("failure"),
                c.num("acceptorFailures"), c.num("receiveErrors"), c.num("sendErrors"), c.str("stopReturned"), c.num("stopMs"),
                c.str("failureAfterStop").replace('_', ' '), errorLogs);

        // what every transport must do: no hang, no spin, a clean stop
        assertEquals(0, c.num("closeRc"), "the descriptor was closed");
        assertEquals(64, c.num("answeredBefore"), c.describe());
        assertTrue(Double.parseDouble(c.str("acceptorCpuPercent")) < 50, "no acceptor spins: " + c.describe());
        assertEquals("true", c.str("stopReturned"), "stop(2 s) returned: " + c.describe());
        assertTrue(c.num("stopMs") < 2_000 + 1_000, "within its deadline: " + c.describe());
        assertEquals("true", c.str("released"), "and the server is stopped");
        assertEquals("[]", c.str("acceptorsAlive"), "no acceptor thread left");

        switch (kind) {
            case EPOLL, NIO -> {
                for (String round : List.of("answeredAfter0", "answeredAfter1", "answeredAfter2")) {
                    assertEquals(64, c.num(round), kind + ": the kernel moved every peer to the other acceptor: " + c.describe());
                }
                assertEquals("none", c.str("failure"), "the server goes on serving: " + c.describe());
                assertEquals("none", c.str("failureAfterStop"), "and stops cleanly: " + c.describe());
                assertEquals(0, errorLogs, "nothing to report as an error: " + c.stderr());
            }
            case IO_URING -> {
                String failure = (c.str("failure") + " " + c.str("failureAfterStop")).replace('_', ' ');
                assertTrue(failure.contains("closed underneath"), "the lost socket stops the server, with the reason: " + c.describe());
                assertTrue(c.num("sendErrors") >= 1, "the failed reply is counted: " + c.describe());
            }
            default -> throw new AssertionError(kind);
        }
    }
}
