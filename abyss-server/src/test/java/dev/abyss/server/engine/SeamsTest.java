package dev.abyss.server.engine;

import dev.abyss.server.DispatchMode;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.SendResult;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats.Counter;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The two seams of the engine, each proven with a test double: a transport that owns frames (the
 * shape of AF_XDP) and a per-session layer between the dispatcher and the handler (the shape of
 * DTLS). The handler and the engine are the ones every other test uses; only the seam differs.
 */
class SeamsTest {
    private static final Duration QUICK_STOP = Duration.ofMillis(200);

    private static String text(MemorySegment data) {
        return new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8);
    }

    // ---- the frame-transport seam ----------------------------------------------------------------

    @Test
    void theEngineServesAFrameTransportAsItServesASocket() throws Exception {
        InetSocketAddress server = new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 4242);
        InetSocketAddress client = new InetSocketAddress(InetAddress.getByName("198.18.0.2"), 5000);
        AtomicReference<FrameTransportDouble> opened = new AtomicReference<>();
        TransportFactory frames = new TransportFactory(TransportKind.AUTO, (settings, address, reusePort, probeFirst, receiver, sender) -> {
            FrameTransportDouble t = new FrameTransportDouble(address, receiver, sender);
            opened.set(t);
            return t;
        });
        List<String> seen = new CopyOnWriteArrayList<>();
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
                seen.add(text(data) + " to " + s.datagram().destination() + " tc " + s.datagram().trafficClass()
                        + " if " + s.datagram().interfaceIndex());
                s.setTrafficClass(s.datagram().trafficClass());
                s.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        ServerConfig config = ServerConfig.builder().handler(echo).bindAddress(server.getAddress()).port(server.getPort())
                .numAcceptors(1).shutdownTimeout(QUICK_STOP).build();
        ServerEngine engine = ServerEngine.start(config, frames, null);
        try {
            FrameTransportDouble wire = opened.get();
            wire.rx.add(FrameTransportDouble.frame(client, new InetSocketAddress(server.getAddress(), 9), 0, "not ours".getBytes()));
            wire.rx.add(FrameTransportDouble.frame(client, server, 0x02, "ping".getBytes()));
            byte[] reply = wire.tx.poll(5, TimeUnit.SECONDS);
            assertNotNull(reply, "a reply frame");
            FrameTransportDouble.Parsed p = FrameTransportDouble.Parsed.of(reply);
            assertEquals(server, p.from(), "the reply leaves from the address the request came to");
            assertEquals(client, p.to());
            assertEquals(0x02, p.tos(), "the traffic class the handler set");
            assertArrayEquals("ping".getBytes(), p.payload());
            assertEquals(List.of("ping to " + server + " tc 2 if 7"), seen, "the handler saw the facts of the IP header");
            long[] c = engine.counters(); // one slot per public counter
            assertEquals(1, c[Counter.DATAGRAMS_IN.ordinal()]);
            assertEquals(1, c[Counter.DATAGRAMS_OUT.ordinal()]);
            assertEquals(1, c[Counter.SESSIONS_OPENED.ordinal()]);
        } finally {
            engine.stop(QUICK_STOP);
        }
        assertEquals(1, opened.get().foreignFrames, "the frame for another port was not the engine's");
        assertEquals(true, opened.get().isClosed());
    }

    // ---- the session-layer seam ------------------------------------------------------------------

    /**
     * A layer with a one-datagram handshake and a XOR "cipher": not ready until the peer says HELLO
     * (answered WELCOME by the layer itself); anything before that is refused and counted; after it,
     * datagrams are XOR 0x5A both ways.
     */
    static final class XorLayer implements SessionLayer {
        static final byte KEY = 0x5A;
        private final Wire wire;
        private final AtomicInteger refused;
        private final AtomicInteger closed = new AtomicInteger();
        private boolean ready;

        XorLayer(Wire wire, AtomicInteger refused) {
            this.wire = wire;
            this.refused = refused;
        }

        static byte[] xor(byte[] b) {
            byte[] out = b.clone();
            for (int i = 0; i < out.length; i++) {
                out[i] ^= KEY;
            }
            return out;
        }

        @Override
        public MemorySegment unwrap(MemorySegment datagram) {
            if (!ready) {
                if (text(datagram).equals("HELLO")) {
                    ready = true;
                    byte[] welcome = "WELCOME".getBytes(StandardCharsets.UTF_8);
                    wire.send(MemorySegment.ofArray(welcome), 0, welcome.length);
                } else {
                    refused.incrementAndGet();
                }
                return null;
            }
            return MemorySegment.ofArray(xor(datagram.toArray(JAVA_BYTE))).asReadOnly();
        }

        @Override
        public boolean ready() {
            return ready;
        }

        @Override
        public SendResult wrap(MemorySegment plaintext, long offset, long length) {
            byte[] sealed = xor(plaintext.asSlice(offset, length).toArray(JAVA_BYTE));
            return wire.send(MemorySegment.ofArray(sealed), 0, sealed.length);
        }

        @Override
        public void closed() {
            closed.incrementAndGet();
        }
    }

    static Stream<Arguments> transportsAndModes() {
        return Stream.of(TransportKind.EPOLL, TransportKind.IO_URING, TransportKind.NIO)
                .flatMap(kind -> Stream.of(DispatchMode.values()).map(mode -> Arguments.of(kind, mode)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transportsAndModes")
    void aSessionLayerTransformsBothWaysAndHoldsTheHandlerBack(TransportKind kind, DispatchMode mode) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger connections = new AtomicInteger();
        List<String> seen = new CopyOnWriteArrayList<>();
        Handler<Object> handler = new Handler<>() {
            @Override
            public HandlerResult<Object> handleConnection(Session s, Object state) {
                connections.incrementAndGet();
                s.send("hi".getBytes(StandardCharsets.UTF_8));
                return HandlerResult.continueWith(state);
            }

            @Override
            public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
                seen.add(text(data));
                s.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        ServerConfig config = ServerConfig.builder().handler(handler).bindLoopback().port(0).transport(kind).numAcceptors(1)
                .dispatchMode(mode).shutdownTimeout(QUICK_STOP).build();
        ServerEngine engine = ServerEngine.start(config, Transports.select(kind), wire -> new XorLayer(wire, refused));
        try (DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            peer.setSoTimeout(5_000);
            peer.connect(engine.localAddress());
            send(peer, "too early".getBytes(StandardCharsets.UTF_8));
            send(peer, "HELLO".getBytes(StandardCharsets.UTF_8));
            assertEquals("WELCOME", receive(peer), "the layer's own handshake answer");
            assertEquals("hi", new String(XorLayer.xor(receive(peer).getBytes(StandardCharsets.ISO_8859_1)), StandardCharsets.UTF_8),
                    "handleConnection ran once the layer was ready; its send went out sealed");
            send(peer, XorLayer.xor("ping".getBytes(StandardCharsets.UTF_8)));
            assertEquals("ping", new String(XorLayer.xor(receive(peer).getBytes(StandardCharsets.ISO_8859_1)), StandardCharsets.UTF_8),
                    "the echo, sealed again");
            assertEquals(List.of("ping"), seen, "the handler saw plaintext only, and none of the handshake");
            assertEquals(1, connections.get());
            assertEquals(1, refused.get(), "the datagram before the handshake was the layer's to refuse");
        } finally {
            engine.stop(QUICK_STOP);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transportsAndModes")
    void aLayerThatRefusesAPeerGivesItsPlaceBackAndIsToldOfEveryEnd(TransportKind kind, DispatchMode mode) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        AtomicInteger refused = new AtomicInteger();
        List<XorLayer> opened = new CopyOnWriteArrayList<>();
        AtomicInteger asked = new AtomicInteger();
        SessionLayer.Factory layers = wire -> {
            if (asked.getAndIncrement() == 0) {
                throw new IllegalStateException("the layer is at its limit"); // how a layer refuses a peer
            }
            XorLayer l = new XorLayer(wire, refused);
            opened.add(l);
            return l;
        };
        ServerConfig config = ServerConfig.builder().handler(new Handler<>() {
                }).bindLoopback().port(0).transport(kind).dispatchMode(mode).numAcceptors(1).numConnections(1)
                .shutdownTimeout(QUICK_STOP).build();
        ServerEngine engine = ServerEngine.start(config, Transports.select(kind), layers);
        try (DatagramSocket first = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             DatagramSocket second = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            first.setSoTimeout(5_000);
            second.setSoTimeout(5_000);
            first.connect(engine.localAddress());
            second.connect(engine.localAddress());
            send(first, "HELLO".getBytes(StandardCharsets.UTF_8));
            Await.await("the refusal counted", () -> engine.counters()[Counter.HANDLER_ERRORS.ordinal()], n -> n == 1);
            send(second, "HELLO".getBytes(StandardCharsets.UTF_8));
            assertEquals("WELCOME", receive(second), "the one place under the cap was given back");
            assertEquals(0, engine.counters()[Counter.SESSIONS_OPENED.ordinal()] - 1, "one session opened: the refused peer got none");
        } finally {
            engine.stop(QUICK_STOP);
        }
        assertEquals(1, opened.size());
        assertEquals(1, opened.getFirst().closed.get(), "the layer was told its session ended, once");
    }

    private static void send(DatagramSocket peer, byte[] data) throws Exception {
        peer.send(new DatagramPacket(data, data.length));
    }

    /** The next datagram, bytes as ISO-8859-1 characters (one per byte). */
    private static String receive(DatagramSocket peer) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        peer.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.ISO_8859_1);
    }
}
