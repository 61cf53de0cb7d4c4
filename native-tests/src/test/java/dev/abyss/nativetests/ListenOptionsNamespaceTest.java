package dev.abyss.nativetests;

import dev.abyss.ffi.NetNamespace;
import dev.abyss.server.Abyss;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.MulticastGroup;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.UdpOption;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.Selector;
import java.nio.channels.SelectionKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The listen options across real links, in named network namespaces this test makes (root only;
 * skipped with the reason elsewhere) and removes at the end, even on failure:
 * <pre>
 *   S (server)  vs  198.18.21.1/24 fd00:21::1 ---- vc  198.18.21.2,.3/24 fd00:21::2,::3  C (senders)
 *               vs2 198.18.24.1/24            ---- vc2 198.18.24.2/24                     C
 *               vt  198.18.22.1/24 ---- R (forwarding) 198.18.22.2 | 198.18.23.1 ---- 198.18.23.2 T (far client)
 * </pre>
 * The server runs in this JVM with its sockets opened inside S ({@link ServerConfig.Builder#netns});
 * senders are JDK channels opened inside C or T the same way ({@link NetNamespace#run}), and for the
 * netns case itself a python3 client under {@code ip netns exec}. EPOLL and IO_URING (NIO cannot
 * open sockets in another namespace).
 */
@Timeout(120)
class ListenOptionsNamespaceTest {
    private static final String SUFFIX = Long.toString(ProcessHandle.current().pid() % 100_000);
    private static final String S = "a21s" + SUFFIX;
    private static final String C = "a21c" + SUFFIX;
    private static final String R = "a21r" + SUFFIX;
    private static final String T = "a21t" + SUFFIX;
    private static final List<String> ALL = List.of(S, C, R, T);
    private static String unavailable;

    @BeforeAll
    static void makeNamespaces() {
        unavailable = NetworkNamespace.namedUnavailable("a21p" + SUFFIX);
        if (unavailable != null) {
            return;
        }
        NetworkNamespace.deleteNamed(ALL);
        String script = String.join(" && ",
                "ip netns add " + S, "ip netns add " + C, "ip netns add " + R, "ip netns add " + T,
                "ip -n " + S + " link set lo up", "ip -n " + C + " link set lo up", "ip -n " + R + " link set lo up",
                "ip -n " + T + " link set lo up",
                "ip -n " + S + " link add vs type veth peer name vc netns " + C,
                "ip -n " + S + " link add vs2 type veth peer name vc2 netns " + C,
                "ip -n " + S + " link add vt type veth peer name vrs netns " + R,
                "ip -n " + R + " link add vrt type veth peer name vtr netns " + T,
                "ip -n " + S + " addr add 198.18.21.1/24 brd + dev vs", "ip -n " + S + " addr add fd00:21::1/64 dev vs nodad",
                "ip -n " + C + " addr add 198.18.21.2/24 brd + dev vc", "ip -n " + C + " addr add 198.18.21.3/24 dev vc",
                "ip -n " + C + " addr add fd00:21::2/64 dev vc nodad", "ip -n " + C + " addr add fd00:21::3/64 dev vc nodad",
                "ip -n " + S + " addr add 198.18.24.1/24 dev vs2", "ip -n " + C + " addr add 198.18.24.2/24 dev vc2",
                "ip -n " + S + " addr add 198.18.22.1/24 dev vt", "ip -n " + R + " addr add 198.18.22.2/24 dev vrs",
                "ip -n " + R + " addr add 198.18.23.1/24 dev vrt", "ip -n " + T + " addr add 198.18.23.2/24 dev vtr",
                "ip -n " + S + " link set vs up", "ip -n " + S + " link set vs2 up", "ip -n " + S + " link set vt up",
                "ip -n " + C + " link set vc up", "ip -n " + C + " link set vc2 up",
                "ip -n " + R + " link set vrs up", "ip -n " + R + " link set vrt up", "ip -n " + T + " link set vtr up",
                "ip netns exec " + R + " sysctl -qw net.ipv4.ip_forward=1",
                "ip -n " + S + " route add 198.18.23.0/24 via 198.18.22.2",
                "ip -n " + T + " route add 198.18.22.0/24 via 198.18.23.1",
                "ip -n " + C + " route add 224.0.0.0/4 dev vc");
        NetworkNamespace.Run setup = NetworkNamespace.sh(script, 60);
        if (setup.code() != 0) {
            NetworkNamespace.deleteNamed(ALL);
            throw new AssertionError("setting the namespaces up failed: " + setup.describe());
        }
    }

    @AfterAll
    static void removeNamespaces() {
        if (unavailable == null) {
            NetworkNamespace.deleteNamed(ALL);
        }
    }

    private static void skipUnless(TransportKind kind) {
        Skip.ifUnavailable("named network namespaces", unavailable);
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
    }

    /** What the server saw: per datagram, its payload, destination and TTL, and the acceptor thread. */
    record Seen(String text, SocketAddress destination, String thread, int ttl) {
    }

    /** A server in S that records each datagram and answers "ok:TEXT" to its sender. */
    private static Server server(TransportKind kind, ConcurrentLinkedQueue<Seen> seen, ServerConfig.Builder b) throws IOException {
        DatagramHandler h = (peer, data) -> {
            String text = new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            seen.add(new Seen(text, peer.datagram().destination(), Thread.currentThread().getName(), peer.datagram().ttl()));
            peer.send(("ok:" + text).getBytes(StandardCharsets.UTF_8));
        };
        return Abyss.start(b.transport(kind).datagramHandler(h).netns(S).shutdownTimeout(Duration.ofMillis(50)).build());
    }

    /** A JDK channel opened inside {@code ns}, bound to {@code bind}: it sends and receives there. */
    private static DatagramChannel channel(String ns, InetSocketAddress bind) throws Exception {
        return NetNamespace.run(ns, () -> {
            DatagramChannel ch = DatagramChannel.open(bind.getAddress() instanceof java.net.Inet6Address
                    ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
            ch.setOption(StandardSocketOptions.SO_BROADCAST, true);
            ch.bind(bind);
            return ch;
        });
    }

    private static void send(DatagramChannel ch, String text, SocketAddress to) throws IOException {
        ch.send(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), to);
    }

    /** The next datagram within {@code millis}, or null. */
    private static String receive(DatagramChannel ch, long millis) throws IOException {
        ch.configureBlocking(false);
        try (Selector sel = Selector.open()) {
            ch.register(sel, SelectionKey.OP_READ);
            ByteBuffer buf = ByteBuffer.allocate(2048);
            long deadline = System.nanoTime() + millis * 1_000_000;
            while (true) {
                if (ch.receive(buf) != null) {
                    buf.flip();
                    return StandardCharsets.UTF_8.decode(buf).toString();
                }
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return null;
                }
                sel.select(left);
                sel.selectedKeys().clear();
            }
        }
    }

    private static int port(Server s) {
        return ((InetSocketAddress) s.localAddress()).getPort();
    }

    private static long count(ConcurrentLinkedQueue<Seen> seen, String prefix) {
        return seen.stream().filter(x -> x.text().startsWith(prefix)).count();
    }

    // ---- multicast

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void multicastIpv4JoinedLeftAndSourceSpecificWithTwoAcceptors(TransportKind kind) throws Exception {
        skipUnless(kind);
        multicast(kind, "239.1.2.3", "0.0.0.0", "198.18.21.2", "198.18.21.3");
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void multicastIpv6JoinedLeftAndSourceSpecificWithTwoAcceptors(TransportKind kind) throws Exception {
        skipUnless(kind);
        multicast(kind, "ff15::1:2:3", "::", "fd00:21::2", "fd00:21::3");
    }

    private void multicast(TransportKind kind, String groupText, String any, String sourceA, String sourceB) throws Exception {
        InetAddress group = InetAddress.getByName(groupText);
        ConcurrentLinkedQueue<Seen> joined = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Seen> notJoined = new ConcurrentLinkedQueue<>();
        int n = 20;
        try (Server member = server(kind, joined, ServerConfig.builder().bindAddress(InetAddress.getByName(any)).port(0)
                .numAcceptors(2).joinGroup(group, "vs"));
             Server outsider = server(kind, notJoined, ServerConfig.builder().bindAddress(InetAddress.getByName(any)).port(0)
                     .numAcceptors(2));
             DatagramChannel a = channel(C, new InetSocketAddress(sourceA, 0));
             DatagramChannel b = channel(C, new InetSocketAddress(sourceB, 0))) {
            InetSocketAddress toMember = new InetSocketAddress(group, port(member));
            InetSocketAddress toOutsider = new InetSocketAddress(group, port(outsider));
            for (int i = 0; i < n; i++) { // from many source ports: the reuseport hash would spread them
                try (DatagramChannel each = channel(C, new InetSocketAddress(sourceA, 0))) {
                    send(each, "any" + i, toMember);
                }
                send(a, "out" + i, toOutsider);
            }
            // measured: Linux gives a copy to every socket bound to the port that may receive the group
            // (UDP multicast delivery walks them all; the reuseport hash only picks among unicast receivers)
            Await.await("every acceptor's socket got every datagram of the group", Duration.ofSeconds(10),
                    () -> count(joined, "any"), c -> c == 2L * n);
            Seen first = joined.peek();
            assertEquals(new InetSocketAddress(group, port(member)).getAddress(), ((InetSocketAddress) first.destination()).getAddress(),
                    "DatagramInfo.destination() names the group: " + first);
            long copies = count(joined, "any");
            long threads = joined.stream().filter(x -> x.text().startsWith("any")).map(Seen::thread).distinct().count();
            System.out.println("MULTICAST " + kind + " " + groupText + ": " + n + " datagrams from " + n + " source ports, "
                    + copies + " deliveries over " + threads + " acceptor socket(s) of the 2-socket reuseport group");
            assertEquals(2, threads, "both acceptors' sockets are members, and each received a copy");
            for (int i = 0; i < n; i++) {
                String text = "any" + i;
                assertEquals(2, joined.stream().filter(x -> x.text().equals(text)).map(Seen::thread).distinct().count(),
                        text + ": one copy per acceptor");
            }
            assertNull(receive(a, 300), "nothing came back to the outsider's sender");
            assertEquals(0, count(notJoined, "out"), "a server that did not join gets none");

            member.leaveGroup(group, "vs");
            send(a, "left", toMember);
            assertNull(receive(a, 500), "after leaveGroup nothing is received, so nothing answered");
            assertEquals(0, count(joined, "left"));

            member.joinGroup(group, "vs", InetAddress.getByName(sourceA)); // source-specific: A only
            for (int i = 0; i < 5; i++) {
                send(a, "ssmA" + i, toMember);
                send(b, "ssmB" + i, toMember);
            }
            Await.await("the source-specific member got A's datagrams", Duration.ofSeconds(10), () -> count(joined, "ssmA"), c -> c == 10);
            String reply = receive(a, 5000);
            assertTrue(reply != null && reply.startsWith("ok:ssmA"), "a multicast datagram is answered by unicast, from the interface's address: " + reply);
            assertNull(receive(b, 300), "B is not the source joined: nothing of B's arrives, nothing answers it");
            assertEquals(0, count(joined, "ssmB"));
        }
    }

    // ---- broadcast, TTL, freebind, bind to device, netns

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void broadcastReachesTheServerAndItsBroadcastsNeedTheOption(TransportKind kind) throws Exception {
        skipUnless(kind);
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        try (Server server = server(kind, seen, ServerConfig.builder().bindAny().port(0).numAcceptors(1)
                .socketOption(UdpOption.BROADCAST, true));
             DatagramChannel c = channel(C, new InetSocketAddress("0.0.0.0", 0))) {
            send(c, "hello all", new InetSocketAddress("198.18.21.255", port(server)));
            assertEquals("ok:hello all", receive(c, 5000));
            assertEquals(InetAddress.getByName("198.18.21.255"), ((InetSocketAddress) seen.peek().destination()).getAddress(),
                    "the destination is the subnet's broadcast address");
            int listen = ((InetSocketAddress) c.getLocalAddress()).getPort();
            server.send(new InetSocketAddress("198.18.21.255", listen), MemorySegment.ofArray("to all".getBytes(StandardCharsets.UTF_8)));
            assertEquals("to all", receive(c, 5000), "SO_BROADCAST on: the server's broadcast leaves");
            server.setOption(UdpOption.BROADCAST, false);
            long errors = server.stats().sendErrors();
            server.send(new InetSocketAddress("198.18.21.255", listen), MemorySegment.ofArray("refused".getBytes(StandardCharsets.UTF_8)));
            Await.await("the broadcast without SO_BROADCAST fails (EACCES), counted", Duration.ofSeconds(5),
                    () -> server.stats().sendErrors(), e -> e == errors + 1);
            assertNull(receive(c, 300));
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void aReplyWithTtl1DiesAtTheRouterWithTtl64ItArrives(TransportKind kind) throws Exception {
        skipUnless(kind);
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        try (Server server = server(kind, seen, ServerConfig.builder().bindAddress(InetAddress.getByName("198.18.22.1")).port(0)
                .numAcceptors(1).socketOption(UdpOption.TTL, 1).socketOption(UdpOption.RECEIVE_TTL, true));
             DatagramChannel far = channel(T, new InetSocketAddress("198.18.23.2", 0))) {
            InetSocketAddress to = new InetSocketAddress("198.18.22.1", port(server));
            send(far, "ttl1", to);
            Await.await("the request crossed the router", Duration.ofSeconds(5), () -> count(seen, "ttl1"), c -> c == 1);
            assertEquals(63, seen.peek().ttl(), "one router hop: the client's 64 arrives as 63 (RECEIVE_TTL)");
            assertNull(receive(far, 500), "a reply with TTL 1 does not cross the router");
            server.setOption(UdpOption.TTL, 64);
            send(far, "ttl64", to);
            assertEquals("ok:ttl64", receive(far, 5000), "with TTL 64 it does");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void freebindBindsAnAddressBeforeItExistsAndAnswersOnceAdded(TransportKind kind) throws Exception {
        skipUnless(kind);
        NetworkNamespace.sh("ip -n " + S + " addr del 198.18.21.5/24 dev vs 2>/dev/null", 10);
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        ServerConfig.Builder vip = ServerConfig.builder().bindAddress(InetAddress.getByName("198.18.21.5")).port(0).numAcceptors(1);
        IOException without = assertThrows(IOException.class, () -> server(kind, seen, vip));
        assertTrue(without.getMessage().contains("EADDRNOTAVAIL"), "without FREEBIND: " + without.getMessage());
        try (Server server = server(kind, seen, vip.socketOption(UdpOption.FREEBIND, true));
             DatagramChannel c = channel(C, new InetSocketAddress("198.18.21.2", 0))) {
            InetSocketAddress to = new InetSocketAddress("198.18.21.5", port(server));
            send(c, "early", to);
            assertNull(receive(c, 300), "the address is not there yet: nobody answers");
            NetworkNamespace.Run add = NetworkNamespace.sh("ip -n " + S + " addr add 198.18.21.5/24 dev vs", 10);
            assertEquals(0, add.code(), add.describe());
            send(c, "late", to);
            String first = receive(c, 5000);
            // C's neighbour lookup of .5 may still hold "early" when the address appears: then it is answered first
            String reply = "ok:early".equals(first) ? receive(c, 5000) : first;
            assertEquals("ok:late", reply, "once added, the server bound before answers");
        } finally {
            NetworkNamespace.sh("ip -n " + S + " addr del 198.18.21.5/24 dev vs 2>/dev/null", 10);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void bindToDeviceIgnoresTrafficOnAnotherInterface(TransportKind kind) throws Exception {
        skipUnless(kind);
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        try (Server server = server(kind, seen, ServerConfig.builder().bindAny().port(0).numAcceptors(2)
                .socketOption(UdpOption.BIND_TO_DEVICE, "vs"));
             DatagramChannel onVs = channel(C, new InetSocketAddress("198.18.21.2", 0));
             DatagramChannel onVs2 = channel(C, new InetSocketAddress("198.18.24.2", 0))) {
            assertEquals("vs", server.option(UdpOption.BIND_TO_DEVICE));
            send(onVs2, "other link", new InetSocketAddress("198.18.24.1", port(server)));
            send(onVs, "bound link", new InetSocketAddress("198.18.21.1", port(server)));
            assertEquals("ok:bound link", receive(onVs, 5000));
            assertNull(receive(onVs2, 300), "arrived on vs2: not for a socket bound to vs");
            assertEquals(0, count(seen, "other"));
        }
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> server(kind, seen(),
                ServerConfig.builder().bindAny().port(0).numAcceptors(1).socketOption(UdpOption.BIND_TO_DEVICE, "nosuch0")));
        assertTrue(unknown.getMessage().contains("BIND_TO_DEVICE") && unknown.getMessage().contains("nosuch0"), unknown.getMessage());
    }

    private static ConcurrentLinkedQueue<Seen> seen() {
        return new ConcurrentLinkedQueue<>();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void aServerStartedHereServesInsideAnotherNamespace(TransportKind kind) throws Exception {
        skipUnless(kind);
        Path self = Path.of("/proc/thread-self/ns/net");
        Path before = Files.readSymbolicLink(self);
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        try (Server server = server(kind, seen, ServerConfig.builder().bindAddress(InetAddress.getByName("198.18.21.1")).port(0)
                .numAcceptors(2))) {
            assertEquals(before, Files.readSymbolicLink(self), "the starting thread stays in its namespace");
            assertTrue(server.toString().contains("netns=" + S), server.toString());
            NetworkNamespace.Run client = NetworkNamespace.sh("ip netns exec " + C + " python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    + "s.settimeout(5); s.sendto(b'from C', ('198.18.21.1', " + port(server) + ")); print('REPLY', s.recv(100).decode())\"", 20);
            assertEquals(0, client.code(), client.describe());
            assertTrue(client.output().contains("REPLY ok:from C"), client.describe());
            assertNotEquals(before, Path.of("/run/netns/" + S), "sanity");
        }
        IOException missing = assertThrows(IOException.class, () -> Abyss.start(ServerConfig.builder().transport(kind)
                .datagramHandler((p, d) -> { }).netns("a21-no-such-ns").build()));
        assertTrue(missing.getMessage().contains("/run/netns/a21-no-such-ns") && missing.getMessage().contains("ENOENT"), missing.getMessage());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void theMulticastListenerExamplePrintsWhatArrivesAndAnswersByUnicast(TransportKind kind) throws Exception {
        skipUnless(kind);
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        dev.abyss.server.examples.MulticastListener listener =
                new dev.abyss.server.examples.MulticastListener(new java.io.PrintStream(printed, true, StandardCharsets.UTF_8));
        ServerConfig example = dev.abyss.server.examples.MulticastListener.config(MulticastGroup.parse("239.1.2.4@vs"), 0, listener);
        ServerConfig.Builder b = ServerConfig.builder().bindAddress(InetAddress.getByName("0.0.0.0")).port(0).numAcceptors(1)
                .joinGroup(example.listen().groups().getFirst()).socketOption(UdpOption.RECEIVE_TTL, true)
                .datagramHandler(listener).transport(kind).netns(S);
        try (Server server = Abyss.start(b.build()); DatagramChannel c = channel(C, new InetSocketAddress("198.18.21.2", 0))) {
            send(c, "tick 1", new InetSocketAddress("239.1.2.4", port(server)));
            assertEquals("ack 1", receive(c, 5000), "answered by unicast");
            String line = printed.toString(StandardCharsets.UTF_8);
            assertTrue(line.contains("to /239.1.2.4:") && line.contains("from /198.18.21.2:") && line.contains("ttl 1")
                    && line.contains("'tick 1'"), line);
        }
    }

    @org.junit.jupiter.api.Test
    void nioJoinsAndLeavesThroughTheJdksMembershipKeys() throws Exception {
        Skip.ifUnavailable("named network namespaces", unavailable);
        try (NetworkNamespace.Child child = NetworkNamespace.startJava(S, MulticastNioChild.class, List.of("239.1.2.5@vs"));
             DatagramChannel c = channel(C, new InetSocketAddress("198.18.21.2", 0))) {
            String started = child.expect("PORT ", Duration.ofSeconds(40));
            assertTrue(started.endsWith(" ttl 3"), "MULTICAST_TTL through the JDK's option: " + started);
            InetSocketAddress to = new InetSocketAddress("239.1.2.5", Integer.parseInt(started.split(" ")[0]));
            send(c, "n1", to);
            assertEquals("ok:n1", receive(c, 5000), "NIO joined: the group's datagram is answered");
            child.send("leave");
            child.expect("LEFT []", Duration.ofSeconds(10));
            send(c, "n2", to);
            assertNull(receive(c, 500), "NIO left (MembershipKey.drop): nothing arrives");
        }
    }

    static List<String> names() {
        return new ArrayList<>(ALL);
    }
}
