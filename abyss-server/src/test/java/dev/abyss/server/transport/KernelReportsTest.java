package dev.abyss.server.transport;

import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.server.Abyss;
import dev.abyss.server.FullTablePolicy;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the kernel reports about a server's sockets, on real loopback sockets: datagrams it dropped
 * (SO_RXQ_OVFL), peers whose port is closed (ICMP port unreachable through IP_RECVERR), and the
 * receive buffer a socket gets by default.
 *
 * <p>EPOLL and IO_URING only: NIO can see neither drops nor ICMP errors (the JDK has no control
 * messages and no error queue; see {@code NioTransport}), so it has nothing to test here.
 */
@Timeout(120)
class KernelReportsTest {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    // ---- (a) kernel drops ------------------------------------------------------------------------

    /**
     * A handler that holds the acceptor on its first datagram until a client has flooded a socket
     * with a tiny receive buffer: the kernel drops, and the server's count is the socket's own drop
     * count as /proc/net/udp shows it.
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void kernelDropsAreCountedAsTheKernelCountsThem(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch floodSent = new CountDownLatch(1);
        Handler<Object> holdOnce = new Handler<>() {
            private final AtomicInteger seen = new AtomicInteger();

            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                if (seen.getAndIncrement() == 0) {
                    holding.countDown();
                    try {
                        floodSent.await(30, TimeUnit.SECONDS); // the acceptor reads nothing meanwhile
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return HandlerResult.continueWith(state);
            }
        };
        java.util.concurrent.atomic.AtomicLong telemetryDrops = new java.util.concurrent.atomic.AtomicLong();
        dev.abyss.server.telemetry.Telemetry.attach("kernel-drops-" + kind, java.util.List.of("abyss.acceptor.kernel_drops"),
                e -> telemetryDrops.addAndGet((Long) e.measurements().get("count")));
        jdk.jfr.Recording recording = new jdk.jfr.Recording();
        recording.enable("dev.abyss.KernelDrops");
        recording.start();
        // a callback limit longer than the hold: the watchdog must not end it early
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(holdOnce).numAcceptors(1)
                .receiveBufferSize(4096).inlineCallbackLimit(Duration.ofSeconds(60)).shutdownTimeout(Duration.ZERO).build());
             DatagramChannel client = DatagramChannel.open()) {
            InetSocketAddress to = (InetSocketAddress) server.localAddress();
            client.setOption(java.net.StandardSocketOptions.SO_SNDBUF, 1 << 20);
            send(client, "hold", to);
            assertTrue(holding.await(10, TimeUnit.SECONDS), "the first datagram is being handled");
            int flood = 2000;
            for (int i = 0; i < flood; i++) {
                send(client, "flood " + i + " " + "x".repeat(200), to);
            }
            floodSent.countDown();
            // on loopback a send returns once the datagram is in the socket's queue or counted in its drops, so the kernel's
            // count is final now: everything is accounted for once the server has read all the kernel kept
            long sent = 1 + flood;
            long dropped = await("the server reads every datagram the kernel kept: read + dropped by the kernel == " + sent,
                    () -> new ReadAndDropped(server.stats().datagramsIn(), procDrops(to.getPort())),
                    n -> n.read() + n.dropped() == sent).dropped();
            assertTrue(dropped > 0, "the flood overflowed the socket's 4 KiB buffer: drops " + dropped);
            // the kernel stamps its drop count on the datagrams queued after the drops: the first of these reports them,
            // and once the last is read that report is behind the acceptor
            int after = 3;
            for (int i = 0; i < after; i++) {
                send(client, "after " + i, to);
            }
            List<Long> expected = List.of(sent + after - dropped, dropped, dropped);
            await("the datagrams after the flood read, the drops they report counted and emitted [datagramsIn, kernelDrops, "
                            + "telemetry] == " + expected,
                    () -> List.of(server.stats().datagramsIn(), server.stats().kernelDrops(), telemetryDrops.get()), expected::equals);
            assertEquals(dropped, procDrops(to.getPort()), "no drop since");
            assertEquals(sent + after - dropped, server.stats().datagramsIn(), "every datagram is read or counted as dropped");
            assertEquals(dropped, telemetryDrops.get(), "the abyss.acceptor.kernel_drops events add up to them");
            recording.stop();
            Path file = Files.createTempFile("kernel-drops", ".jfr");
            try {
                recording.dump(file);
                long jfrDrops = 0;
                for (jdk.jfr.consumer.RecordedEvent e : jdk.jfr.consumer.RecordingFile.readAllEvents(file)) {
                    if (e.getEventType().getName().equals("dev.abyss.KernelDrops")) {
                        jfrDrops += e.getLong("count");
                    }
                }
                assertEquals(dropped, jfrDrops, "the dev.abyss.KernelDrops JFR events add up to them");
            } finally {
                Files.deleteIfExists(file);
            }
        } finally {
            dev.abyss.server.telemetry.Telemetry.detach("kernel-drops-" + kind);
            recording.close();
        }
    }

    // ---- (b) vanishing peers ---------------------------------------------------------------------

    /**
     * Keeps each vanishing peer's datagram, answers it when told ({@link Session#post}): so the peer
     * has certainly closed its socket when the answer goes out. Other peers get an echo at once.
     */
    private static final class DelayedEcho implements Handler<byte[]> {
        final AtomicInteger portUnreachable = new AtomicInteger();
        final AtomicInteger otherEnds = new AtomicInteger();

        @Override
        public HandlerResult<byte[]> handleData(Session session, MemorySegment data, byte[] state) {
            byte[] bytes = data.toArray(JAVA_BYTE);
            if (bytes.length > 0 && bytes[0] == 'V') {
                return HandlerResult.continueWith(bytes); // answered when a message says so
            }
            session.send(bytes);
            return HandlerResult.continueWith(state);
        }

        @Override
        public HandlerResult<byte[]> handleMessage(Session session, Object message, byte[] state) {
            if (state != null) {
                session.send(state);
            }
            return HandlerResult.continueWith(state);
        }

        @Override
        public void handleError(Object reason, byte[] state) {
            (reason instanceof PortUnreachableException ? portUnreachable : otherEnds).incrementAndGet();
        }

        @Override
        public void handleTimeout(byte[] state) {
            otherEnds.incrementAndGet();
        }
    }

    /**
     * 500 peers each send one datagram and close their socket before the answer comes: the answer
     * draws an ICMP port unreachable, and the session ends at once with a PortUnreachableException
     * instead of holding one of the table's 200 places for the 60 s read timeout. Meanwhile a steady
     * peer keeps getting answers (a send refused for the error another peer's ICMP left pending is
     * sent again), and afterwards 200 newcomers fill the whole table.
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void vanishedPeersEndTheirSessionsAndFreeTheTable(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        DelayedEcho handler = new DelayedEcho();
        long started = System.nanoTime();
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(handler).numAcceptors(2)
                .numConnections(200).fullTablePolicy(FullTablePolicy.REFUSE).readTimeout(READ_TIMEOUT)
                .shutdownTimeout(Duration.ZERO).build());
             DatagramChannel steady = DatagramChannel.open()) {
            InetSocketAddress to = (InetSocketAddress) server.localAddress();
            steady.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            steady.configureBlocking(true);
            steady.socket().setSoTimeout(5000);
            assertEquals("N steady", roundTrip(steady, "N steady", to));
            int waves = 5;
            int perWave = 100;
            for (int w = 0; w < waves; w++) {
                int opened = 1 + perWave * (w + 1);
                vanish(perWave, to, "V" + w);
                await("the vanishing peers of the wave got sessions", server::stats, st -> st.sessionsOpened() == opened);
                answerUntilGone(server, Set.of(steady.getLocalAddress()), () -> {
                    try {
                        assertEquals("N steady", roundTrip(steady, "N steady", to), "the steady peer is answered");
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                });
            }
            long elapsed = System.nanoTime() - started;
            // no session of any wave lived as long as the read timeout: ICMP, not the timeout, ended each one
            assertTrue(elapsed < READ_TIMEOUT.toNanos(), "the sessions ended before the read timeout: " + elapsed / 1_000_000 + " ms");
            assertEquals(waves * perWave, handler.portUnreachable.get(), "each vanished peer's session ended in handleError(PortUnreachableException)");
            assertEquals(0, handler.otherEnds.get(), "no session ended otherwise");
            assertEquals(waves * perWave, server.stats().sessionsUnreachable());
            assertTrue(server.stats().unreachable() >= waves * perWave, "ICMP errors counted: " + server.stats().unreachable());
            assertEquals(0, server.stats().sendErrors(), "no send failed for another peer's ICMP error");
            assertEquals(0, server.stats().receiveErrors(), "no receive failure counted for an ICMP error");

            // the table is free again: 199 newcomers and the steady peer fill it
            List<DatagramChannel> newcomers = new ArrayList<>();
            try {
                for (int i = 0; i < 199; i++) {
                    DatagramChannel c = DatagramChannel.open();
                    newcomers.add(c);
                    c.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                    c.socket().setSoTimeout(5000);
                    send(c, "N newcomer " + i, to);
                }
                for (int i = 0; i < newcomers.size(); i++) {
                    assertEquals("N newcomer " + i, receive(newcomers.get(i)), "newcomer " + i + " is answered");
                }
                assertEquals(200, server.sessions(), "the whole table serves live peers");
                assertEquals(0, server.stats().droppedTableFull());
            } finally {
                for (DatagramChannel c : newcomers) {
                    c.close();
                }
            }
        }
    }

    /**
     * A dual-stack [::] socket learns of vanished peers of both families: IPv6 ones through
     * IPV6_RECVERR, IPv4 ones (v4-mapped) through IP_RECVERR.
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void aDualStackSocketLearnsOfVanishedPeersOfBothFamilies(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        DelayedEcho handler = new DelayedEcho();
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(handler).numAcceptors(1)
                .bindAddress(InetAddress.getByName("::")).ipv6Only(false).readTimeout(READ_TIMEOUT)
                .shutdownTimeout(Duration.ZERO).build())) {
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            vanish(20, new InetSocketAddress("127.0.0.1", port), "V4");
            vanish(20, new InetSocketAddress("::1", port), "V6");
            await("40 sessions", server::stats, st -> st.sessionsOpened() == 40);
            answerUntilGone(server, Set.of(), () -> { });
            assertEquals(40, handler.portUnreachable.get(), "both families' sessions ended by port unreachable");
        }
    }

    /**
     * {@code n} peers each send one datagram to {@code to}, then all close their sockets (all open
     * together until then, so no two share an ephemeral port and merge into one session).
     */
    private static void vanish(int n, InetSocketAddress to, String tag) throws IOException {
        List<DatagramChannel> peers = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                DatagramChannel c = DatagramChannel.open(to.getAddress() instanceof java.net.Inet6Address
                        ? java.net.StandardProtocolFamily.INET6 : java.net.StandardProtocolFamily.INET);
                peers.add(c);
                send(c, tag + " " + i, to);
            }
        } finally {
            for (DatagramChannel c : peers) {
                c.close();
            }
        }
    }

    /**
     * Answers the kept datagram of every session but {@code keep}'s, paced (the kernel limits ICMP
     * errors to 1000 a second with a burst of 50, host-wide), until only {@code keep}'s are left; a
     * session whose answer drew no ICMP error (rate-limited) is answered again a second later.
     * {@code between} runs after each group of ten.
     */
    private static void answerUntilGone(Server server, Set<SocketAddress> keep, Runnable between) {
        long[] nextRound = {System.nanoTime()};
        await("the sessions of vanished peers end (sessions still open)", Duration.ofSeconds(20), () -> {
            List<Session> vanished = new ArrayList<>();
            server.forEachSession(s -> {
                if (!keep.contains(s.remoteAddress())) {
                    vanished.add(s);
                }
            });
            if (!vanished.isEmpty() && System.nanoTime() - nextRound[0] >= 0) {
                int k = 0;
                for (Session s : vanished) {
                    s.post("answer");
                    if (++k % 10 == 0) {
                        between.run();
                        pace(15);
                    }
                }
                nextRound[0] = System.nanoTime() + 1_000_000_000L; // meanwhile their ICMP errors end them
            }
            return vanished.size();
        }, open -> open == 0);
    }

    // ---- (c) the default receive buffer ---------------------------------------------------------

    /** With receiveBufferSize unset, each socket gets {@link ReceiveBuffer#DEFAULT} as far as the kernel grants it. */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void theDefaultReceiveBufferIsSizedForThroughput(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        long rmemMax = sysctl("/proc/sys/net/core/rmem_max");
        long rmemDefault = sysctl("/proc/sys/net/core/rmem_default");
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(new dev.abyss.server.examples.Echo())
                .numAcceptors(2).shutdownTimeout(Duration.ZERO).build())) {
            List<Integer> sizes = receiveBuffers(((InetSocketAddress) server.localAddress()).getPort());
            assertEquals(2, sizes.size(), "one socket per acceptor: " + sizes);
            for (int rcvbuf : sizes) {
                assertTrue(rcvbuf >= rmemDefault, "not below the kernel's default " + rmemDefault + ": " + rcvbuf);
                assertTrue(rcvbuf >= 2 * Math.min(ReceiveBuffer.DEFAULT, rmemMax),
                        "at least what net.core.rmem_max " + rmemMax + " permits: " + rcvbuf);
                if (rmemMax >= ReceiveBuffer.DEFAULT) {
                    assertEquals(2 * ReceiveBuffer.DEFAULT, rcvbuf, "4 MiB asked, doubled by the kernel");
                }
            }
        }
    }

    /** SO_RCVBUF of this process's UDP sockets bound to {@code port}, found through /proc/net/udp* and /proc/self/fd. */
    private static List<Integer> receiveBuffers(int port) throws IOException, NativeException {
        Set<String> inodes = new HashSet<>();
        for (String[] f : procUdp(port)) {
            inodes.add(f[9]);
        }
        List<Integer> sizes = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : fds.toList()) {
                String target;
                try {
                    target = Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    continue; // closed meanwhile
                }
                if (target.startsWith("socket:[") && inodes.contains(target.substring(8, target.length() - 1))) {
                    int fd = Integer.parseInt(p.getFileName().toString());
                    sizes.add(Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, "SO_RCVBUF"));
                }
            }
        }
        return sizes;
    }

    // ---- AF_UNIX: no control space -------------------------------------------------------------

    /**
     * The control space is for IP sockets only: on AF_UNIX a peer's SCM_RIGHTS message would install
     * the descriptors it passes into the server's process, one per datagram. With no space the
     * kernel discards them.
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void anAfUnixPeerCannotPassDescriptorsIntoTheServer(TransportKind kind, @org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        String path = dir.resolve("s.sock").toString();
        Handler<Object> ignore = new Handler<>() {
        };
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(ignore).bindUnix(path)
                .numAcceptors(1).shutdownTimeout(Duration.ZERO).build());
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int fd = Sockets.openDatagram(Net.AF_UNIX, false);
            try {
                Sockets.bind(fd, java.net.UnixDomainSocketAddress.of(dir.resolve("c.sock")));
                MemorySegment name = arena.allocate(dev.abyss.ffi.net.SockAddr.SOCKADDR_STORAGE);
                int nameLength = dev.abyss.ffi.net.SockAddr.write(java.net.UnixDomainSocketAddress.of(path), name);
                MemorySegment data = arena.allocateFrom(JAVA_BYTE, (byte) 'x');
                MemorySegment iov = arena.allocate(dev.abyss.ffi.net.MsgLayouts.IOVEC);
                iov.set(java.lang.foreign.ValueLayout.ADDRESS, dev.abyss.ffi.net.MsgLayouts.IOV_BASE, data);
                iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, dev.abyss.ffi.net.MsgLayouts.IOV_LEN, 1);
                long space = dev.abyss.ffi.net.MsgLayouts.cmsgSpace(4);
                MemorySegment control = arena.allocate(space, 8);
                control.set(java.lang.foreign.ValueLayout.JAVA_LONG, dev.abyss.ffi.net.MsgLayouts.CMSG_LEN_FIELD,
                        dev.abyss.ffi.net.MsgLayouts.cmsgLen(4));
                control.set(java.lang.foreign.ValueLayout.JAVA_INT, dev.abyss.ffi.net.MsgLayouts.CMSG_LEVEL, Net.SOL_SOCKET);
                control.set(java.lang.foreign.ValueLayout.JAVA_INT, dev.abyss.ffi.net.MsgLayouts.CMSG_TYPE, Net.SCM_RIGHTS);
                control.set(java.lang.foreign.ValueLayout.JAVA_INT, dev.abyss.ffi.net.MsgLayouts.CMSG_DATA_OFFSET, fd);
                MemorySegment msg = arena.allocate(dev.abyss.ffi.net.MsgLayouts.MSGHDR);
                msg.set(java.lang.foreign.ValueLayout.ADDRESS, dev.abyss.ffi.net.MsgLayouts.MSG_NAME, name);
                msg.set(java.lang.foreign.ValueLayout.JAVA_INT, dev.abyss.ffi.net.MsgLayouts.MSG_NAMELEN, nameLength);
                msg.set(java.lang.foreign.ValueLayout.ADDRESS, dev.abyss.ffi.net.MsgLayouts.MSG_IOV, iov);
                msg.set(java.lang.foreign.ValueLayout.JAVA_LONG, dev.abyss.ffi.net.MsgLayouts.MSG_IOVLEN, 1);
                msg.set(java.lang.foreign.ValueLayout.ADDRESS, dev.abyss.ffi.net.MsgLayouts.MSG_CONTROL, control);
                msg.set(java.lang.foreign.ValueLayout.JAVA_LONG, dev.abyss.ffi.net.MsgLayouts.MSG_CONTROLLEN, space);
                long before = openDescriptors();
                int n = 100;
                for (int i = 0; i < n; i++) {
                    assertEquals(1, dev.abyss.ffi.LibC.sendmsg(fd, msg, 0), "sent with a descriptor");
                }
                await("the server read them all", server::stats, st -> st.datagramsIn() == n);
                long grown = openDescriptors() - before;
                assertTrue(grown < n / 2, "descriptors passed in were not installed: " + grown + " more open");
            } finally {
                dev.abyss.ffi.LibC.close(fd);
            }
        }
    }

    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /** The rows of /proc/net/udp and /proc/net/udp6 for sockets bound to {@code port}, split in fields. */
    private static List<String[]> procUdp(int port) throws IOException {
        List<String[]> rows = new ArrayList<>();
        for (String file : new String[]{"/proc/net/udp", "/proc/net/udp6"}) {
            Path p = Path.of(file);
            if (!Files.exists(p)) {
                continue;
            }
            List<String> lines = Files.readAllLines(p);
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                String local = f[1];
                if (Integer.parseInt(local.substring(local.indexOf(':') + 1), 16) == port) {
                    rows.add(f);
                }
            }
        }
        return rows;
    }

    /** The kernel's drop count of the sockets bound to {@code port} (the last column of /proc/net/udp). */
    private static long procDrops(int port) {
        long drops = 0;
        try {
            for (String[] f : procUdp(port)) {
                drops += Long.parseLong(f[f.length - 1]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return drops;
    }

    /** What the server read and what the kernel dropped, of one socket. */
    private record ReadAndDropped(long read, long dropped) {
    }

    private static long sysctl(String path) throws IOException {
        return Long.parseLong(Files.readAllLines(Path.of(path)).getFirst().strip());
    }

    private static void send(DatagramChannel c, String text, SocketAddress to) throws IOException {
        c.send(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), to);
    }

    /** One datagram from a blocking channel with a socket timeout (the channel must be bound). */
    private static String receive(DatagramChannel c) throws IOException {
        java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
        c.socket().receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
    }

    private static String roundTrip(DatagramChannel c, String text, SocketAddress to) throws IOException {
        send(c, text, to);
        return receive(c);
    }

    /** A pause that paces a sender on purpose (the kernel's ICMP rate limit); never a wait for something to happen. */
    private static void pace(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
