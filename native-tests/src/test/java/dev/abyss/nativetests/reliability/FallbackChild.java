package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Child JVM of {@link TransportFaultsTest#autoFallsBackWhenIoUringIsUnavailable}, started with
 * {@code -Dabyss.transport.unavailable=...}: starts an AUTO server, has it echo one datagram, and
 * asks for IO_URING explicitly. One RESULT line: the transport AUTO chose, whether it answered, and
 * the explicit request's error.
 */
public final class FallbackChild {
    private FallbackChild() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                session.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        String chose;
        boolean answered;
        try (Server server = Abyss.start(ServerConfig.builder().handler(echo).transport(TransportKind.AUTO).bindAddress(loopback)
                .shutdownTimeout(Duration.ofMillis(100)).build());
             DatagramSocket c = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
            chose = server.transport().name();
            c.setSoTimeout(5000);
            byte[] b = "fallback".getBytes(StandardCharsets.UTF_8);
            c.send(new DatagramPacket(b, b.length, server.localAddress()));
            DatagramPacket p = new DatagramPacket(new byte[64], 64);
            c.receive(p);
            answered = new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8).equals("fallback");
        }
        String explicit;
        try (Server s = Abyss.start(ServerConfig.builder().handler(echo).transport(TransportKind.IO_URING).bindAddress(loopback)
                .shutdownTimeout(Duration.ofMillis(100)).build())) {
            explicit = "started:" + s.transport();
        } catch (IllegalStateException e) {
            explicit = "IllegalStateException:" + e.getMessage();
        }
        Reliability.result("transport", chose, "answered", answered, "explicitIoUring", explicit.replace(' ', '_'));
        System.exit(0);
    }
}
