package dev.abyss.server;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.server.examples.StatelessEcho;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inherited sockets in-process: real sockets made with abyss-ffi (bound, or not, of each family
 * and type) stand for what systemd passes; the descriptor checks, the LISTEN_* parsing, what
 * build() refuses, and a server adopting two sockets on each native transport. The CLI under the
 * real {@code systemd-socket-activate} is native-tests' SystemdActivationProcessTest.
 */
class InheritedSocketsTest {
    private final List<Integer> open = new ArrayList<>();

    @AfterEach
    void closeLeftovers() {
        for (int fd : open) {
            LibC.close(fd);
        }
    }

    private int udp(int family, SocketAddress bindTo) throws NativeException {
        int fd = Sockets.openDatagram(family, false);
        open.add(fd);
        if (bindTo != null) {
            Sockets.bind(fd, bindTo);
        }
        return fd;
    }

    private int udp4() throws NativeException {
        return udp(Net.AF_INET, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    private static String message(Throwable t) {
        return String.valueOf(t.getMessage());
    }

    private static void said(Throwable t, String... parts) {
        for (String p : parts) {
            assertTrue(message(t).contains(p), "'" + p + "' in: " + message(t));
        }
    }

    @Test
    void inspectReadsFamilyAndAddressOfBoundDatagramSockets() throws Exception {
        int v4 = udp4();
        InheritedSocket s = InheritedSocket.inspect(v4, "dns");
        assertEquals(Net.AF_INET, s.family());
        assertEquals(Sockets.localAddress(v4), s.localAddress());
        assertEquals("dns", s.name());

        int v6 = udp(Net.AF_INET6, new InetSocketAddress(InetAddress.getByName("::1"), 0));
        assertEquals(Net.AF_INET6, InheritedSocket.inspect(v6, null).family());

        Path path = Files.createTempDirectory("abyss-inherit").resolve("s");
        int unix = udp(Net.AF_UNIX, UnixDomainSocketAddress.of(path));
        InheritedSocket u = InheritedSocket.inspect(unix, null);
        assertEquals(Net.AF_UNIX, u.family());
        assertEquals(UnixDomainSocketAddress.of(path), u.localAddress());
        Files.deleteIfExists(path);
    }

    @Test
    void inspectRefusesWhatIsNotABoundDatagramSocketNamingTheFd() throws Exception {
        int stream = LibC.check(LibC.socket(Net.AF_INET, Net.SOCK_STREAM | Net.SOCK_CLOEXEC, 0), "socket");
        open.add(stream);
        Sockets.bind(stream, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        said(assertThrows(IllegalArgumentException.class, () -> InheritedSocket.inspect(stream, "web")),
                "fd " + stream + " ('web')", "SOCK_STREAM", "not SOCK_DGRAM", "ListenDatagram=");

        int eventfd = LibC.check(LibC.eventfd(0, Net.EFD_CLOEXEC), "eventfd");
        open.add(eventfd);
        said(assertThrows(IllegalArgumentException.class, () -> InheritedSocket.inspect(eventfd, null)),
                "fd " + eventfd, "is not a socket", "ENOTSOCK");

        int closed = Sockets.openDatagram(Net.AF_INET, false);
        LibC.close(closed);
        said(assertThrows(IllegalArgumentException.class, () -> InheritedSocket.inspect(closed, null)),
                "fd " + closed, "not an open file descriptor", "EBADF");

        int unbound = udp(Net.AF_INET, null);
        said(assertThrows(IllegalArgumentException.class, () -> InheritedSocket.inspect(unbound, null)),
                "fd " + unbound, "not bound");
        int unboundUnix = udp(Net.AF_UNIX, null);
        said(assertThrows(IllegalArgumentException.class, () -> InheritedSocket.inspect(unboundUnix, null)),
                "fd " + unboundUnix, "not bound");

        said(assertThrows(IllegalArgumentException.class, () -> InheritedSocket.inspect(-1, null)), "fd -1");
    }

    @Test
    void theBuilderRefusesAnotherFamilyAndAnFdTwice() throws Exception {
        int v4 = udp4();
        int v6 = udp(Net.AF_INET6, new InetSocketAddress(InetAddress.getByName("::1"), 0));
        said(assertThrows(IllegalArgumentException.class, () -> ServerConfig.builder().inheritedSockets(v4, v6)),
                "fd " + v6 + " is AF_INET6", "another family than fd " + v4, "AF_INET");
        said(assertThrows(IllegalArgumentException.class, () -> ServerConfig.builder().inheritedSockets(v4, v4)),
                "fd " + v4 + " given twice");
        said(assertThrows(IllegalArgumentException.class, () -> ServerConfig.builder().inheritedSockets()), "none given");
    }

    @Test
    void listenEnvironmentIsParsedWithSdListenFdsSemantics() {
        long pid = ProcessHandle.current().pid();
        said(assertThrows(IllegalStateException.class, () -> SystemdSockets.listenFds(Map.of(), pid)),
                "LISTEN_FDS is not set");
        said(assertThrows(IllegalStateException.class, () -> SystemdSockets.listenFds(Map.of("LISTEN_FDS", "1"), pid)),
                "LISTEN_PID is not set");
        said(assertThrows(IllegalArgumentException.class,
                () -> SystemdSockets.listenFds(Map.of("LISTEN_FDS", "two", "LISTEN_PID", "" + pid), pid)),
                "LISTEN_FDS is not a number: 'two'");
        said(assertThrows(IllegalArgumentException.class,
                () -> SystemdSockets.listenFds(Map.of("LISTEN_FDS", "0", "LISTEN_PID", "" + pid), pid)),
                "LISTEN_FDS=0");
        said(assertThrows(IllegalArgumentException.class,
                () -> SystemdSockets.listenFds(Map.of("LISTEN_FDS", "1", "LISTEN_PID", "x1"), pid)),
                "LISTEN_PID is not a number: 'x1'");
        said(assertThrows(IllegalArgumentException.class,
                () -> SystemdSockets.listenFds(Map.of("LISTEN_FDS", "1", "LISTEN_PID", "" + (pid + 1)), pid)),
                "LISTEN_PID=" + (pid + 1) + " is another process's", "pid " + pid);
        said(assertThrows(IllegalArgumentException.class, () -> SystemdSockets.listenFds(
                        Map.of("LISTEN_FDS", "2", "LISTEN_PID", "" + pid, "LISTEN_FDNAMES", "a:b:c"), pid)),
                "LISTEN_FDNAMES='a:b:c' has 3 names for LISTEN_FDS=2");
    }

    @Test
    void buildRefusesBindTimeOptionsAndNioNamingBoth() throws Exception {
        int a = udp4();
        int b = udp4();
        record Case(UnaryOperator<ServerConfig.Builder> options, String... said) {
        }
        List<Case> cases = List.of(
                new Case(x -> x.port(5353), "port 5353", "inheritedSockets fd " + a + "," + b, "already bound"),
                new Case(x -> x.bindAddress(InetAddress.getLoopbackAddress()), "bindAddress 127.0.0.1", "inheritedSockets"),
                new Case(ServerConfig.Builder::bindAny, "bindAddress", "inheritedSockets"),
                new Case(x -> x.bindUnix("/tmp/x"), "bindUnix '/tmp/x'", "inheritedSockets"),
                new Case(x -> x.reuseAddress(true), "reuseAddress true", "inheritedSockets", "SO_REUSEADDR"),
                new Case(x -> x.ipv6Only(false), "ipv6Only false", "inheritedSockets", "IPV6_V6ONLY"),
                new Case(x -> x.numAcceptors(4), "numAcceptors 4", "inheritedSockets", "one acceptor serves each inherited socket: 2"),
                new Case(x -> x.transport(TransportKind.NIO), "transport NIO", "inheritedSockets", "DatagramChannel"));
        for (Case c : cases) {
            ServerConfig.Builder builder = ServerConfig.builder().datagramHandler(new StatelessEcho()).inheritedSockets(a, b);
            said(assertThrows(IllegalArgumentException.class, () -> c.options().apply(builder).build()), c.said());
        }
        ServerConfig ok = ServerConfig.builder().datagramHandler(new StatelessEcho()).inheritedSockets(a, b)
                .numAcceptors(2).receiveBufferSize(1 << 20).transport(TransportKind.EPOLL).build();
        assertEquals(2, ok.limits().numAcceptors());
        assertEquals(Sockets.localAddress(a), ok.socket().bindAddress());
        assertEquals(List.of(a, b), ok.inheritedSockets().stream().map(InheritedSocket::fd).toList());
        assertTrue(ServerConfig.builder().datagramHandler(new StatelessEcho()).build().inheritedSockets().isEmpty());

        Path path = Files.createTempDirectory("abyss-inherit").resolve("u");
        int unix = udp(Net.AF_UNIX, UnixDomainSocketAddress.of(path));
        said(assertThrows(IllegalArgumentException.class, () -> ServerConfig.builder().datagramHandler(new StatelessEcho())
                .inheritedSockets(unix).gso(true).build()), "gso true", "inheritedSockets fd " + unix, "AF_UNIX");
        assertTrue(!ServerConfig.builder().datagramHandler(new StatelessEcho()).inheritedSockets(unix).build().socket().gso());
        Files.deleteIfExists(path);
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    @Timeout(30)
    void twoInheritedSocketsAreTwoAcceptorsThatEchoAndAreClosedAtStop(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        int a = udp4();
        int b = udp4();
        Sockets.setNonBlocking(a, kind != TransportKind.EPOLL); // the transport sets what it needs, whatever it got
        ServerConfig config = ServerConfig.builder().datagramHandler(new StatelessEcho()).transport(kind)
                .inheritedSockets(a, b).receiveBufferSize(256 << 10).build();
        Set<SocketAddress> served = new HashSet<>();
        try (Server server = Abyss.start(config)) {
            open.removeAll(List.of(a, b)); // the server's now: closed by it, never by us (the number may be reused)
            assertEquals(Sockets.localAddress(a), server.localAddress());
            assertEquals(2 * 256 << 10, Sockets.getInt(a, Net.SOL_SOCKET, Net.SO_RCVBUF, "SO_RCVBUF"),
                    "runtime options are applied to adopted sockets");
            try (DatagramSocket client = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                client.setSoTimeout(5000);
                for (int fd : new int[] {a, b}) {
                    SocketAddress to = Sockets.localAddress(fd);
                    byte[] msg = ("to fd " + fd).getBytes(StandardCharsets.UTF_8);
                    client.send(new DatagramPacket(msg, msg.length, to));
                    DatagramPacket reply = new DatagramPacket(new byte[100], 100);
                    client.receive(reply);
                    assertEquals("to fd " + fd, new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8));
                    served.add(reply.getSocketAddress());
                }
            }
        }
        assertEquals(Set.of(config.inheritedSockets().get(0).localAddress(), config.inheritedSockets().get(1).localAddress()),
                served, "each socket answered from its own address");
        NativeException closed = assertThrows(NativeException.class, () -> Sockets.getInt(a, Net.SOL_SOCKET, Net.SO_TYPE, "SO_TYPE"));
        assertEquals("EBADF", closed.errnoName(), "the server owned the descriptor and closed it at stop");
    }

    @Test
    @Timeout(30)
    void autoThatLandsOnNioRefusesToStartOnInheritedSockets() throws Exception {
        String before = System.getProperty("abyss.transport.unavailable");
        int a = udp4();
        ServerConfig config = ServerConfig.builder().datagramHandler(new StatelessEcho()).inheritedSockets(a).build();
        System.setProperty("abyss.transport.unavailable", "io_uring,epoll");
        try {
            Skip.ifUnavailable("transport NIO", Transports.unavailableReason(TransportKind.NIO));
            said(assertThrows(IllegalStateException.class, () -> Abyss.start(config)),
                    "AUTO landed on NIO", "cannot adopt", "epoll: disabled");
        } finally {
            if (before == null) {
                System.clearProperty("abyss.transport.unavailable");
            } else {
                System.setProperty("abyss.transport.unavailable", before);
            }
        }
        assertEquals(Net.SOCK_DGRAM, Sockets.getInt(a, Net.SOL_SOCKET, Net.SO_TYPE, "SO_TYPE"), "a refused start leaves the fd open");
    }
}
