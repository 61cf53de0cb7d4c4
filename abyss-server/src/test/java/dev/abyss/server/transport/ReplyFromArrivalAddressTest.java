package dev.abyss.server.transport;

import dev.abyss.server.Abyss;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Replies leave from the address the request came to: a server bound to a wildcard address answers
 * a client that sent to 127.0.0.5 from 127.0.0.5, so a connected client socket (it accepts
 * datagrams from its connected address only, as DNS stub resolvers do) sees the reply. Sessions
 * (INLINE and through the cross-thread queue) and the stateless handler; an IPv4 socket and a
 * dual-stack [::] one. NIO cannot choose a source address (documented): not run. A second IPv6
 * address would need a network namespace: not covered here.
 */
@Timeout(60)
class ReplyFromArrivalAddressTest {

    private static String exchange(SocketAddress server, String text) throws Exception {
        int port = ((InetSocketAddress) server).getPort();
        try (DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET)) {
            c.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            c.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.5"), port)); // replies from elsewhere are filtered out
            c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            c.socket().setSoTimeout(3000);
            java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[100], 100);
            c.socket().receive(p);
            return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void sessionsStatelessRepliesAndDualStackAnswerFromTheAddressAskedFor(TransportKind kind) throws Exception {
        String why = Transports.unavailableReason(kind);
        assumeTrue(why == null, () -> kind + " unavailable: " + why);
        LinkedBlockingQueue<SocketAddress> locals = new LinkedBlockingQueue<>();
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
                locals.add(s.localAddress());
                String text = new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                if (text.startsWith("later")) { // from another thread: through the acceptor's queue
                    Thread.ofVirtual().start(() -> s.send(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
                } else {
                    s.send(data);
                }
                return HandlerResult.continueWith(state);
            }
        };
        for (String bind : new String[]{"0.0.0.0", "::"}) {
            locals.clear();
            try (Server server = Abyss.start(ServerConfig.builder().handler(echo).transport(kind)
                    .bindAddress(InetAddress.getByName(bind)).numAcceptors(1).shutdownTimeout(Duration.ofMillis(100)).build())) {
                assertEquals("hello", exchange(server.localAddress(), "hello"), bind + ": answered from 127.0.0.5");
                SocketAddress local = locals.poll(5, TimeUnit.SECONDS);
                assertEquals(((InetSocketAddress) server.localAddress()).getPort(), ((InetSocketAddress) local).getPort());
                String host = ((InetSocketAddress) local).getAddress().getHostAddress();
                assertEquals(true, host.equals("127.0.0.5") || host.endsWith("ffff:7f00:5"),
                        "session.localAddress() is the address the peer talks to: " + local);
                assertEquals("later", exchange(server.localAddress(), "later"), bind + ": a cross-thread send too");
            }
        }
        try (Server server = Abyss.start(ServerConfig.builder().datagramHandler((peer, data) -> peer.send(data)).transport(kind)
                .bindAny().numAcceptors(1).shutdownTimeout(Duration.ofMillis(100)).build())) {
            assertEquals("stateless", exchange(server.localAddress(), "stateless"), "a stateless reply too");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void aPeerThatWaitedForAPlaceInAFullTableIsAnsweredFromTheAddressItAsked(TransportKind kind) throws Exception {
        String why = Transports.unavailableReason(kind);
        assumeTrue(why == null, () -> kind + " unavailable: " + why);
        LinkedBlockingQueue<SocketAddress> locals = new LinkedBlockingQueue<>();
        Handler<Object> closeOrEcho = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
                String text = new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                if (text.equals("leave")) {
                    return HandlerResult.close(state); // frees the only place
                }
                locals.add(s.localAddress());
                s.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        try (Server server = Abyss.start(ServerConfig.builder().handler(closeOrEcho).transport(kind).bindAny().numAcceptors(1)
                .numConnections(1).fullTablePolicy(dev.abyss.server.FullTablePolicy.REFUSE).maxConnectionsRetryCount(50)
                .maxConnectionsRetryWait(Duration.ofMillis(20)).shutdownTimeout(Duration.ofMillis(100)).build());
             DatagramChannel first = DatagramChannel.open(StandardProtocolFamily.INET)) {
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            first.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            first.send(ByteBuffer.wrap("hold".getBytes(StandardCharsets.UTF_8)), new InetSocketAddress("127.0.0.1", port));
            assertEquals(new InetSocketAddress("127.0.0.1", port), locals.poll(5, TimeUnit.SECONDS), "the first peer holds the place");
            try (DatagramChannel second = DatagramChannel.open(StandardProtocolFamily.INET)) {
                second.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
                second.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.5"), port)); // only replies from there
                second.write(ByteBuffer.wrap("waited".getBytes(StandardCharsets.UTF_8))); // the table is full: it waits
                // queued behind it on the same server socket: frees the place, the retry opens the second session
                first.send(ByteBuffer.wrap("leave".getBytes(StandardCharsets.UTF_8)), new InetSocketAddress("127.0.0.1", port));
                second.socket().setSoTimeout(3000);
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[100], 100);
                second.socket().receive(p);
                assertEquals("waited", new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8), "answered from 127.0.0.5");
            }
            assertEquals(new InetSocketAddress("127.0.0.5", port), locals.poll(5, TimeUnit.SECONDS),
                    "the session opened from the retry ring talks from the address its peer asked");
        }
    }
}
