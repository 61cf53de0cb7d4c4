package dev.abyss.server;

import dev.abyss.server.telemetry.AbyssLogger;
import dev.abyss.server.telemetry.Telemetry;
import dev.abyss.server.telemetry.TelemetryEvent;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every telemetry event triggered by real traffic, its measurements and metadata; JFR. */
@Timeout(60)
class TelemetryTest extends TransportSuite {
    /** An event as seen by the listener, with data segments copied to text (they are valid only during the call). */
    record Seen(String name, Map<String, Object> measurements, Map<String, Object> metadata) {
        Object m(String key) {
            return measurements.get(key);
        }

        Object md(String key) {
            return metadata.get(key);
        }

        long span() {
            return (long) metadata.get("telemetry_span_context");
        }
    }

    private final LinkedBlockingQueue<Seen> events = new LinkedBlockingQueue<>();

    private void listen(String... prefixes) {
        Telemetry.attach("test", List.of(prefixes), (TelemetryEvent e) -> {
            Map<String, Object> m = new HashMap<>(e.measurements());
            if (m.get("data") instanceof MemorySegment d) {
                m.put("data", new String(d.toArray(JAVA_BYTE), StandardCharsets.UTF_8));
            }
            events.add(new Seen(e.name(), m, Map.copyOf(e.metadata())));
        });
    }

    @AfterEach
    void detach() {
        Telemetry.detach("test");
        AbyssLogger.detach(AbyssLogger.Level.ERROR);
    }

    private Seen next(String name) throws InterruptedException {
        return next(name, e -> true);
    }

    /** The next event named {@code name} matching {@code p}, skipping others; fails after 5 s. */
    private Seen next(String name, Predicate<Seen> p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<String> skipped = new ArrayList<>();
        while (true) {
            Seen e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (e == null) {
                throw new AssertionError("no " + name + " within 5 s; saw " + skipped);
            }
            if (e.name().equals(name) && p.test(e)) {
                return e;
            }
            skipped.add(e.name());
        }
    }

    private static final Handler<Object> SCRIPTED = new Handler<>() {
        @Override
        public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
            String t = new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8);
            return switch (t) {
                case "close" -> HandlerResult.close(state);
                case "throw" -> throw new IllegalStateException("boom");
                default -> {
                    s.send(data);
                    yield HandlerResult.continueWith(state);
                }
            };
        }
    };

    @Test
    void listenerAcceptorAndConnectionSpansCarryTheReferenceMeasurements() throws Exception {
        listen("abyss");
        Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(SCRIPTED).numAcceptors(1).shutdownTimeout(Duration.ZERO).build());
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        Seen listener = next("abyss.listener.start", e -> port == (int) e.md("local_port"));
        assertEquals(transport().name(), listener.md("transport_module"), "the kind in use");
        assertEquals(65536, ((Map<?, ?>) listener.md("transport_options")).get("max_datagram_size"));
        assertEquals(transport() != TransportKind.NIO, ((Map<?, ?>) listener.md("transport_options")).get("gso"), "GSO by default where there is one");
        assertEquals(false, ((Map<?, ?>) listener.md("transport_options")).get("receive_timestamps"));
        assertEquals(server.config().socket().bindAddress() instanceof InetSocketAddress a ? a.getAddress() : null, listener.md("local_address"));
        Seen acceptor = next("abyss.acceptor.start", e -> e.md("parent_telemetry_span_context").equals(listener.span()));
        assertNotNull(acceptor.m("monotonic_time"));
        try (Client c = new Client(server.localAddress())) {
            int clientPort = ((InetSocketAddress) c.localAddress()).getPort();
            c.send("hello");
            Seen start = next("abyss.connection.start");
            assertEquals(acceptor.span(), start.md("parent_telemetry_span_context"), "connection -> acceptor");
            assertEquals(clientPort, start.md("remote_port"));
            assertEquals(((InetSocketAddress) c.localAddress()).getAddress(), start.md("remote_address"));
            assertEquals(start.span(), next("abyss.connection.ready").span());
            Seen recv = next("abyss.connection.recv");
            assertEquals("hello", recv.m("data"));
            assertEquals(5L, recv.m("bytes"));
            assertEquals(start.span(), recv.span());
            Seen send = next("abyss.connection.send");
            assertEquals("hello", send.m("data"));
            assertEquals(start.span(), send.span());
            assertEquals("hello", c.receive(5000));
            c.send("close");
            Seen stop = next("abyss.connection.stop");
            assertEquals(start.span(), stop.span());
            assertEquals(acceptor.span(), stop.md("parent_telemetry_span_context"));
            assertEquals(10L, stop.m("recv_oct"), "hello + close");
            assertEquals(2L, stop.m("recv_cnt"));
            assertEquals(5L, stop.m("send_oct"), "the bytes sent back");
            assertEquals(1L, stop.m("send_cnt"));
            assertTrue((long) stop.m("duration") > 0);
            assertFalse(stop.metadata().containsKey("error"), "a close is no error");
            assertEquals(clientPort, stop.md("remote_port"));
        }
        server.stop(Duration.ZERO);
        Seen acceptorStop = next("abyss.acceptor.stop", e -> e.span() == acceptor.span());
        assertEquals(1L, acceptorStop.m("connections"));
        assertTrue((long) acceptorStop.m("duration") > 0);
        Seen listenerStop = next("abyss.listener.stop", e -> e.span() == listener.span());
        assertEquals(port, listenerStop.md("local_port"));
        assertTrue((long) listenerStop.m("duration") >= (long) acceptorStop.m("duration"));
    }

    @Test
    void anErrorEndIsInTheStopMetadataAndHelloWorldSendsAreCounted() throws Exception {
        listen("abyss.connection.stop");
        try (Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(SCRIPTED).silentTerminateOnError(true).build());
             Client c = new Client(server.localAddress())) {
            c.send("throw");
            Seen stop = next("abyss.connection.stop");
            assertInstanceOf(IllegalStateException.class, stop.md("error"));
        }
        try (Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(new dev.abyss.server.examples.HelloWorld()).build());
             Client c = new Client(server.localAddress())) {
            c.send("hi");
            Seen stop = next("abyss.connection.stop");
            assertEquals((long) "Hello, World".length(), stop.m("send_oct"), "sent in handleConnection, counted before the stop event");
            assertEquals(1L, stop.m("send_cnt"));
        }
    }

    @Test
    void spawnErrorRecvErrorAndSocketShutdown() throws Exception {
        assumeSupports(Capability.TRUNCATION_DETECTION); // the recv_error is a cut datagram
        listen("abyss.acceptor.spawn_error", "abyss.connection.recv_error", "abyss.connection.socket_shutdown");
        try (Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(SCRIPTED).numConnections(1).fullTablePolicy(FullTablePolicy.REFUSE).maxConnectionsRetryCount(0)
                .maxDatagramSize(100).build());
             Client a = new Client(server.localAddress()); Client b = new Client(server.localAddress())) {
            a.send("first");
            assertEquals("first", a.receive(5000));
            b.send("refused");
            Seen spawn = next("abyss.acceptor.spawn_error");
            assertEquals(((InetSocketAddress) b.localAddress()).getPort(), spawn.md("remote_port"));
            a.send(new byte[500]);
            Seen recvError = next("abyss.connection.recv_error");
            assertTrue(String.valueOf(recvError.m("error")).contains("truncated"), String.valueOf(recvError.m("error")));
            assertEquals(100L, recvError.m("bytes"));
            server.session(a.localAddress()).close();
            assertEquals("read_write", next("abyss.connection.socket_shutdown").m("way"));
        }
    }

    @Test
    void sendErrorNamesTheErrno() throws Exception {
        assumeSupports(Capability.AF_UNIX); // a closed AF_UNIX peer makes a send fail at once
        listen("abyss.connection.send_error");
        Path dir = Files.createTempDirectory("abyss-tel");
        try (Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(SCRIPTED).bindUnix(dir.resolve("s.sock").toString()).build())) {
            Session s;
            try (Client c = new Client(server.localAddress())) {
                c.send("hi");
                assertEquals("hi", c.receive(5000));
                s = server.session(c.localAddress());
            } // the client's socket and path are gone
            assertEquals(SendResult.OK, s.send("into the void".getBytes(StandardCharsets.UTF_8)));
            Seen err = next("abyss.connection.send_error");
            assertTrue(List.of("ECONNREFUSED", "ENOENT").contains(err.m("error")), String.valueOf(err.m("error")));
            assertEquals("into the void", err.m("data"));
            await("counted", server::stats, st -> st.sendErrors() == 1);
        }
    }

    @Test
    void virtualThreadsEmitAsyncRecv() throws Exception {
        listen("abyss.connection.async_recv", "abyss.connection.recv");
        try (Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(SCRIPTED).dispatchMode(DispatchMode.VIRTUAL_THREADS)
                .shutdownTimeout(Duration.ofMillis(100)).build()); Client c = new Client(server.localAddress())) {
            c.send("async");
            Seen e = next("abyss.connection.async_recv");
            assertEquals("async", e.m("data"));
            assertEquals("async", c.receive(5000));
        }
    }

    @Test
    void aThrowingListenerIsDetachedAndTheServerCarriesOn() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Telemetry.attach("test", "abyss.connection.recv", e -> {
            calls.incrementAndGet();
            throw new IllegalStateException("listener bug");
        });
        try (Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(SCRIPTED).build()); Client c = new Client(server.localAddress())) {
            c.send("one");
            assertEquals("one", c.receive(5000));
            assertFalse(Telemetry.isAttached("test"), "detached after it threw");
            c.send("two");
            assertEquals("two", c.receive(5000));
            assertEquals(1, calls.get());
        }
    }

    @Test
    void jfrRecordsSessionsAndDrops() throws Exception {
        assumeSupports(Capability.TRUNCATION_DETECTION); // the drop is a cut datagram
        Path file = Files.createTempFile("abyss", ".jfr");
        try (Recording rec = new Recording()) {
            rec.enable("dev.abyss.Connection");
            rec.enable("dev.abyss.Drop");
            rec.start();
            try (Server server = start(builder().shutdownTimeout(Duration.ofMillis(50)).handler(SCRIPTED).maxDatagramSize(100).build());
                 Client c = new Client(server.localAddress())) {
                c.send("hello");
                assertEquals("hello", c.receive(5000));
                c.send(new byte[300]); // truncated: dropped
                await("truncated", server::stats, st -> st.truncated() == 1);
                c.send("close");
                await("closed", server::sessions, n -> n == 0);
            }
            rec.stop();
            rec.dump(file);
        }
        List<RecordedEvent> all = RecordingFile.readAllEvents(file);
        Files.deleteIfExists(file);
        RecordedEvent session = all.stream().filter(e -> e.getEventType().getName().equals("dev.abyss.Connection")).findFirst()
                .orElseThrow(() -> new AssertionError("no dev.abyss.Connection in " + all.size() + " events"));
        assertEquals(2, session.getLong("recvPackets"), "hello + close (the cut one was dropped)");
        assertEquals(5, session.getLong("sendOctets"));
        assertEquals("close", session.getString("end"));
        assertTrue(session.getDuration().toNanos() > 0);
        RecordedEvent drop = all.stream().filter(e -> e.getEventType().getName().equals("dev.abyss.Drop")).findFirst()
                .orElseThrow(() -> new AssertionError("no dev.abyss.Drop"));
        assertEquals("truncated", drop.getString("cause"));
        assertEquals(100, drop.getLong("bytes"));
    }
}
