package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The typed socket options ({@link UdpOption}) and multicast memberships on a real socket, per
 * transport: set at build time and read back from the kernel, changed at run time on every
 * acceptor's socket, refused where they cannot apply (after bind; NIO's missing options), safe
 * against a concurrent stop; the received TTL as a datagram fact. Multicast delivery, broadcast,
 * TTL across a router, FREEBIND, BIND_TO_DEVICE and namespaces: native-tests' ListenOptionsNamespaceTest.
 */
@Timeout(60)
class ListenOptionsTest extends TransportSuite {

    private ServerConfig.Builder echo() {
        return builder().handler(new Echo()).shutdownTimeout(Duration.ofMillis(50)).numAcceptors(2);
    }

    private boolean nio() {
        return transport() == TransportKind.NIO;
    }

    @Test
    void optionsSetAtBuildTimeReadBackFromTheKernel() throws Exception {
        ServerConfig.Builder b = echo().socketOption(UdpOption.BROADCAST, true)
                .socketOption(UdpOption.MULTICAST_TTL, 7).socketOption(UdpOption.MULTICAST_LOOP, false)
                .socketOption(UdpOption.TRAFFIC_CLASS, 0x20);
        if (!nio()) {
            b.socketOption(UdpOption.TTL, 9).socketOption(UdpOption.MTU_DISCOVER, PathMtuDiscovery.OMIT)
                    .socketOption(UdpOption.RECEIVE_TTL, true).socketOption(UdpOption.PRIORITY, 3)
                    .socketOption(UdpOption.DONTROUTE, true).socketOption(UdpOption.FREEBIND, true)
                    .socketOption(UdpOption.raw(1, 7), UdpOption.intBytes(300_000)); // SOL_SOCKET, SO_SNDBUF
        }
        try (Server server = start(b.build())) {
            assertEquals(true, server.option(UdpOption.BROADCAST));
            assertEquals(7, server.option(UdpOption.MULTICAST_TTL));
            assertEquals(false, server.option(UdpOption.MULTICAST_LOOP));
            assertEquals(0x20, server.option(UdpOption.TRAFFIC_CLASS));
            if (!nio()) {
                assertEquals(9, server.option(UdpOption.TTL));
                assertEquals(PathMtuDiscovery.OMIT, server.option(UdpOption.MTU_DISCOVER));
                assertEquals(true, server.option(UdpOption.RECEIVE_TTL));
                assertEquals(3, server.option(UdpOption.PRIORITY));
                assertEquals(true, server.option(UdpOption.DONTROUTE));
                assertEquals(true, server.option(UdpOption.FREEBIND));
                assertArrayEquals(UdpOption.intBytes(600_000), server.option(UdpOption.raw(1, 7)),
                        "SO_SNDBUF reads back doubled: the raw option reached the kernel");
                assertTrue(server.toString().contains("TTL=9"), server.toString());
                assertTrue(server.config().toString().contains("MTU_DISCOVER=OMIT"), server.config().toString());
            }
            try (Client c = new Client(server.localAddress())) {
                c.send("still serves");
                assertEquals("still serves", c.receive(5000));
            }
        }
    }

    @Test
    void optionsChangeAtRunTimeOnEveryAcceptorsSocket() throws Exception {
        try (Server server = start(echo().build())) {
            assertEquals(false, server.option(UdpOption.BROADCAST), "the kernel's default");
            server.setOption(UdpOption.BROADCAST, true);
            server.setOption(UdpOption.MULTICAST_TTL, 12);
            assertEquals(true, server.option(UdpOption.BROADCAST));
            assertEquals(12, server.option(UdpOption.MULTICAST_TTL));
            assertEquals(List.of(UdpOption.BROADCAST, UdpOption.MULTICAST_TTL), new ArrayList<>(server.options().keySet()));
            if (!nio()) {
                server.setOption(UdpOption.TTL, 33);
                assertEquals(33, server.option(UdpOption.TTL));
                server.setOption(UdpOption.MTU_DISCOVER, PathMtuDiscovery.DO);
                assertEquals(PathMtuDiscovery.DO, server.option(UdpOption.MTU_DISCOVER));
            }
            IllegalStateException freebind = assertThrows(IllegalStateException.class, () -> server.setOption(UdpOption.FREEBIND, true));
            assertTrue(freebind.getMessage().contains("FREEBIND") && freebind.getMessage().contains("bound"), freebind.getMessage());
            IllegalStateException device = assertThrows(IllegalStateException.class, () -> server.setOption(UdpOption.BIND_TO_DEVICE, "lo"));
            assertTrue(device.getMessage().contains("BIND_TO_DEVICE"), device.getMessage());
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> server.setOption(UdpOption.TTL, 0));
            assertTrue(bad.getMessage().contains("TTL") && bad.getMessage().contains("0"), bad.getMessage());
            try (Client c = new Client(server.localAddress())) {
                c.send("after setopts");
                assertEquals("after setopts", c.receive(5000));
            }
        }
    }

    @Test
    void nioRefusesWhatTheJdkHasNotNamingTheOptionAndNio() throws Exception {
        Skip.unless(nio(), "the refusal of NIO");
        IllegalArgumentException atBuild = assertThrows(IllegalArgumentException.class,
                () -> echo().socketOption(UdpOption.TTL, 5).build());
        assertTrue(atBuild.getMessage().contains("TTL") && atBuild.getMessage().contains("NIO"), atBuild.getMessage());
        IllegalArgumentException netns = assertThrows(IllegalArgumentException.class, () -> echo().netns("x").build());
        assertTrue(netns.getMessage().contains("netns") && netns.getMessage().contains("NIO"), netns.getMessage());
        try (Server server = start(echo().build())) {
            for (UdpOption<?> o : UdpOption.ALL) {
                if (!o.onNio()) {
                    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> server.option(o));
                    assertTrue(e.getMessage().contains(o.name()) && e.getMessage().contains("NIO"), e.getMessage());
                }
            }
            UnsupportedOperationException set = assertThrows(UnsupportedOperationException.class, () -> server.setOption(UdpOption.MARK, 1));
            assertTrue(set.getMessage().contains("MARK") && set.getMessage().contains("NIO"), set.getMessage());
        }
    }

    @Test
    void theReceivedTtlIsADatagramFactWhenAskedFor() throws Exception {
        int defaultTtl = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_default_ttl")).getFirst().strip());
        DatagramHandler ttl = (peer, data) -> peer.send(String.valueOf(peer.datagram().ttl()).getBytes(StandardCharsets.US_ASCII));
        ServerConfig.Builder asked = builder().datagramHandler(ttl).numAcceptors(1);
        if (!nio()) {
            asked.socketOption(UdpOption.RECEIVE_TTL, true);
        }
        try (Server on = start(asked.build());
             Server off = start(builder().datagramHandler(ttl).numAcceptors(1).build());
             Client a = new Client(on.localAddress()); Client b = new Client(off.localAddress())) {
            a.send("ttl?");
            assertEquals(nio() ? "-1" : String.valueOf(defaultTtl), a.receive(5000), "IP_RECVTTL: the TTL the client sent with");
            b.send("ttl?");
            assertEquals("-1", b.receive(5000), "not asked for: unknown");
            if (!nio()) {
                on.setOption(UdpOption.RECEIVE_TTL, false);
                a.send("ttl?");
                assertEquals("-1", a.receive(5000), "turned off at run time");
            }
        }
    }

    @Test
    void joinAndLeaveErrorsNameTheGroupAndTheInterface() throws Exception {
        InetAddress group = InetAddress.getByName("239.1.2.3");
        try (Server server = start(echo().bindAddress(InetAddress.getByName("0.0.0.0")).build())) {
            server.joinGroup(group, "lo");
            assertEquals(List.of(new MulticastGroup(group, "lo", null)), server.groups());
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> server.joinGroup(group, "lo"));
            assertTrue(twice.getMessage().contains("239.1.2.3@lo") && twice.getMessage().contains("joined already"), twice.getMessage());
            server.leaveGroup(group, "lo");
            IllegalStateException notJoined = assertThrows(IllegalStateException.class, () -> server.leaveGroup(group, "lo"));
            assertTrue(notJoined.getMessage().contains("239.1.2.3@lo") && notJoined.getMessage().contains("not joined"), notJoined.getMessage());
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> server.joinGroup(group, "nosuch0"));
            assertTrue(unknown.getMessage().contains("nosuch0"), unknown.getMessage());
            assertEquals(List.of(), server.groups(), "a refused join leaves no membership behind");
            IllegalArgumentException v6 = assertThrows(IllegalArgumentException.class,
                    () -> server.joinGroup(InetAddress.getByName("ff15::1:2:3"), "lo"));
            assertTrue(v6.getMessage().contains("ff15"), v6.getMessage());
        }
        IllegalArgumentException unicast = assertThrows(IllegalArgumentException.class,
                () -> new MulticastGroup(InetAddress.getByName("198.18.0.1"), null, null));
        assertTrue(unicast.getMessage().contains("198.18.0.1") && unicast.getMessage().contains("not a multicast"), unicast.getMessage());
    }

    @Test
    void setOptionRacingStopEitherAppliesOrSaysTheServerStopped() throws Exception {
        Server server = start(echo().build());
        AtomicBoolean go = new AtomicBoolean(true);
        List<Throwable> unexpected = new ArrayList<>();
        Thread setter = Thread.ofPlatform().start(() -> {
            for (int i = 0; go.get() && i < 200_000; i++) {
                try {
                    server.setOption(UdpOption.MULTICAST_TTL, i & 0xFF);
                } catch (IllegalStateException stopped) {
                    if (!stopped.getMessage().contains("stopped") && !stopped.getMessage().contains("closed")) {
                        unexpected.add(stopped);
                    }
                    return;
                } catch (Throwable t) {
                    unexpected.add(t);
                    return;
                }
            }
        });
        dev.abyss.testsupport.Await.await("a few options set", server::options, o -> o.containsKey(UdpOption.MULTICAST_TTL));
        server.stop(Duration.ZERO);
        go.set(false);
        setter.join(10_000);
        assertEquals(List.of(), unexpected, "only 'stopped' refusals");
        IllegalStateException after = assertThrows(IllegalStateException.class, () -> server.setOption(UdpOption.BROADCAST, true));
        assertTrue(after.getMessage().contains("stopped"), after.getMessage());
    }

}
