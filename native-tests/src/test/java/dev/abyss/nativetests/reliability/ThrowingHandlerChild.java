package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.testsupport.Await;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Child JVM of {@link HostileHandlersTest#aHandlerThatThrowsOnEveryDatagramIsCountedAndItsLogStaysBounded}:
 * three servers one after the other (a Handler INLINE, a Handler on virtual threads, a
 * DatagramHandler), each with a handler that throws on every datagram but "good", which it answers.
 * One peer sends {@code count} datagrams to each; the server's errors go to slf4j-simple on this
 * JVM's stderr, which the parent measures. Prints one RESULT line per server.
 *
 * <p>Arguments: transport kind, datagrams per server.
 */
public final class ThrowingHandlerChild {
    private ThrowingHandlerChild() {
    }

    private static boolean good(MemorySegment data) {
        return data.byteSize() == 4 && new String(data.toArray(JAVA_BYTE), StandardCharsets.US_ASCII).equals("good");
    }

    public static void main(String[] args) throws Exception {
        TransportKind kind = TransportKind.valueOf(args[0]);
        int count = Integer.parseInt(args[1]);
        Handler<Object> throwing = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                if (good(data)) {
                    session.send(data);
                    return HandlerResult.continueWith(state);
                }
                throw new IllegalStateException("a handler bug that a peer triggers with every datagram");
            }
        };
        DatagramHandler throwingRaw = (peer, data) -> {
            if (good(data)) {
                peer.send(data);
                return;
            }
            throw new IllegalStateException("a handler bug that a peer triggers with every datagram");
        };
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        for (String variant : new String[]{"inline", "virtual", "datagram"}) {
            ServerConfig.Builder b = ServerConfig.builder().transport(kind).bindAddress(loopback).numAcceptors(1)
                    .shutdownTimeout(Duration.ofMillis(200));
            switch (variant) {
                case "inline" -> b.handler(throwing);
                case "virtual" -> b.handler(throwing).dispatchMode(DispatchMode.VIRTUAL_THREADS);
                default -> b.datagramHandler(throwingRaw);
            }
            Server server = Abyss.start(b.build());
            long t0 = System.nanoTime();
            long errors;
            long endedWith;
            boolean answered;
            try (DatagramSocket c = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
                c.setSoTimeout(5000);
                byte[] bad = "bad datagram".getBytes(StandardCharsets.US_ASCII);
                for (int sent = 0; sent < count; ) {
                    int burst = Math.min(100, count - sent);
                    for (int i = 0; i < burst; i++) {
                        c.send(new DatagramPacket(bad, bad.length, server.localAddress()));
                    }
                    sent += burst;
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (server.stats().datagramsIn() < sent && System.nanoTime() < deadline) {
                        Thread.onSpinWait(); // paced by the server: no datagram lost to a full buffer
                    }
                }
                // a virtual-thread session takes the datagrams that arrive while its failing callback runs: they end with
                // it, counted in droppedSessionEnded (or droppedMailboxFull when its thread was not scheduled before its
                // mailbox filled, on a loaded machine); every other datagram opens a session that fails
                Await.await(variant + ": every datagram counted as a failure or dropped with its session", Duration.ofSeconds(30),
                        server::stats, st -> st.handlerErrors() + st.droppedSessionEnded() + st.droppedMailboxFull() >= count);
                byte[] good = "good".getBytes(StandardCharsets.US_ASCII);
                c.send(new DatagramPacket(good, good.length, server.localAddress()));
                DatagramPacket p = new DatagramPacket(new byte[16], 16);
                try {
                    c.receive(p);
                    answered = new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII).equals("good");
                } catch (java.net.SocketTimeoutException e) {
                    answered = false;
                }
                errors = server.stats().handlerErrors();
                endedWith = server.stats().droppedSessionEnded() + server.stats().droppedMailboxFull();
            } finally {
                server.stop(Duration.ofMillis(200)); // flushes the summary of what was not logged
            }
            long elapsedMs = (System.nanoTime() - t0) / 1_000_000;
            Reliability.result("variant", variant, variant + ".handlerErrors", errors, variant + ".droppedSessionEnded", endedWith, variant + ".datagramsIn",
                    server.stats().datagramsIn(), variant + ".answered", answered, variant + ".elapsedMs", elapsedMs);
        }
        System.err.flush();
        System.exit(0);
    }
}
