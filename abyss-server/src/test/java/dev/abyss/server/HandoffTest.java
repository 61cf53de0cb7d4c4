package dev.abyss.server;

import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Server#handOff} and {@link Handoff#takeOver} within one process: the exchange, and its failures. */
@ParameterizedClass(name = "{0}")
@EnumSource(value = TransportKind.class, mode = EnumSource.Mode.EXCLUDE, names = "AUTO")
class HandoffTest {
    /** The transport this class invocation runs on: EPOLL and IO_URING hand off, NIO refuses to. */
    @Parameter
    TransportKind transport;


    private static DatagramHandler named(String name) {
        byte[] head = name.getBytes(StandardCharsets.US_ASCII);
        return (peer, data) -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(head.length + data.byteSize());
                MemorySegment.copy(head, 0, out, ValueLayout.JAVA_BYTE, 0, head.length);
                MemorySegment.copy(data, 0, out, head.length, data.byteSize());
                peer.send(out);
            }
        };
    }

    private Server start(String name, ServerConfig.Builder b) throws IOException {
        Skip.ifUnavailable("transport " + transport, Transports.unavailableReason(transport));
        Skip.unless(transport != TransportKind.NIO, "NIO has no descriptors to hand off (see nioRefusesToHandOff)");
        return Abyss.start(b.datagramHandler(named(name)).transport(transport).build());
    }

    private static String ask(InetSocketAddress server, String what) throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            s.setSoTimeout(5000);
            byte[] b = what.getBytes(StandardCharsets.US_ASCII);
            s.send(new DatagramPacket(b, b.length, server));
            DatagramPacket p = new DatagramPacket(new byte[64], 64);
            s.receive(p);
            return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
        }
    }

    private static InetSocketAddress address(Server s) {
        return new InetSocketAddress("127.0.0.1", ((InetSocketAddress) s.localAddress()).getPort());
    }

    private static void awaitFile(Path p) {
        Await.await(p + " appears", () -> Files.exists(p), exists -> exists);
    }

    @Test
    void nioRefusesToHandOff() throws Exception {
        Skip.unless(transport == TransportKind.NIO, "EPOLL and IO_URING hand off: the other cases cover them");
        Path dir = Files.createTempDirectory("handoff");
        try (Server nio = Abyss.start(ServerConfig.builder().datagramHandler(named("N")).transport(TransportKind.NIO)
                .bindAddress(InetAddress.getLoopbackAddress()).port(0).build())) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> nio.handOff(dir.resolve("h.sock"), Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ZERO));
            assertTrue(e.getMessage().contains("NIO"), e.getMessage());
            assertEquals("Nstill", ask(address(nio), "still"), "it goes on serving");
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    @Test
    @Timeout(60)
    void theSuccessorServesTheSameSocketsAndTheOldServerStops() throws Exception {
        Path dir = Files.createTempDirectory("handoff");
        Path path = dir.resolve("h.sock");
        Server a = start("A", ServerConfig.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0).numAcceptors(2));
        Server b = null;
        try {
            assertEquals("Ahi", ask(address(a), "hi"));
            CompletableFuture<Void> offer = CompletableFuture.runAsync(() -> {
                try {
                    a.handOff(path, Duration.ofSeconds(20), Duration.ofSeconds(20), Duration.ofSeconds(1));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, r -> Thread.ofPlatform().daemon().start(r));
            awaitFile(path);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)), "0600");
            try (Handoff.Takeover t = Handoff.takeOver(path, Duration.ofSeconds(10))) {
                assertEquals(2, t.sockets().size(), "one socket per acceptor");
                b = start("B", ServerConfig.builder().inheritedSockets(t.sockets()));
                assertEquals(address(a).getPort(), address(b).getPort());
                t.started();
            }
            offer.get(20, TimeUnit.SECONDS);
            assertTrue(a.isStopped(), "the old server stopped");
            assertTrue(Files.notExists(path), "the handoff socket is removed");
            for (int i = 0; i < 10; i++) {
                assertEquals("Bx" + i, ask(address(b), "x" + i), "the successor answers");
            }
        } finally {
            a.stop(Duration.ZERO);
            if (b != null) {
                b.stop(Duration.ZERO);
            }
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    @Timeout(60)
    void aSuccessorThatFailsToStartLeavesTheOldServerServing() throws Exception {
        Path dir = Files.createTempDirectory("handoff");
        Path path = dir.resolve("h.sock");
        Server a = start("A", ServerConfig.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0).numAcceptors(1));
        try {
            CompletableFuture<IOException> offer = CompletableFuture.supplyAsync(() -> {
                try {
                    a.handOff(path, Duration.ofSeconds(20), Duration.ofSeconds(20), Duration.ofSeconds(1));
                    return null;
                } catch (IOException e) {
                    return e;
                }
            }, r -> Thread.ofPlatform().daemon().start(r));
            awaitFile(path);
            try (Handoff.Takeover t = Handoff.takeOver(path, Duration.ofSeconds(10))) {
                t.failed(new IllegalStateException("boom"));
            }
            IOException e = offer.get(20, TimeUnit.SECONDS);
            assertTrue(e != null && e.getMessage().contains("boom") && e.getMessage().contains("still serving")
                    && e.getMessage().contains(path.toString()), "the reason, the path: " + e);
            assertTrue(!a.isStopped() && Files.notExists(path));
            assertEquals("Ayes", ask(address(a), "yes"), "the old server still answers on its sockets");
        } finally {
            a.stop(Duration.ZERO);
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    @Timeout(30)
    void noSuccessorAndNoOfferFailClearly() throws Exception {
        Path dir = Files.createTempDirectory("handoff");
        Path path = dir.resolve("h.sock");
        Server a = start("A", ServerConfig.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0).numAcceptors(1));
        try {
            IOException none = assertThrows(IOException.class, () -> Handoff.takeOver(path, Duration.ofSeconds(1)));
            assertTrue(none.getMessage().contains(path.toString()) && none.getMessage().contains("no server offers"), none.getMessage());
            IOException alone = assertThrows(IOException.class,
                    () -> a.handOff(path, Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ZERO));
            assertTrue(alone.getMessage().contains("no successor came") && alone.getMessage().contains(path.toString()), alone.getMessage());
            assertTrue(!a.isStopped() && Files.notExists(path));
            assertEquals("Aok", ask(address(a), "ok"));
        } finally {
            a.stop(Duration.ZERO);
            Files.deleteIfExists(dir);
        }
    }
}
