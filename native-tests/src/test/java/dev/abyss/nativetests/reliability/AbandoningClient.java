package dev.abyss.nativetests.reliability;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLParameters;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;

/**
 * A DTLS 1.2 client (the JDK's SSLEngine) that walks away mid-handshake: it runs the handshake
 * until it has sent a given number of flights, then neither reads nor sends again. Flight 1 is the
 * cookie-less ClientHello, 2 the ClientHello with the server's cookie, 3 the client's
 * ClientKeyExchange, ChangeCipherSpec and Finished (the server's Finished is never read).
 * What it sent is kept in {@link #recordsSent}, so a test can check the flight it abandoned at.
 */
final class AbandoningClient implements AutoCloseable {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    private final DatagramSocket socket;
    private final SSLEngine engine;
    private final byte[] receiveBuffer = new byte[65_536];
    /** Every record sent, as "content type/epoch[/handshake type]" (22/0/1: a ClientHello; 20/0: ChangeCipherSpec; 22/1: Finished). */
    final java.util.List<String> recordsSent = new java.util.ArrayList<>();

    AbandoningClient(InetSocketAddress server, SSLContext context) throws IOException {
        socket = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        socket.connect(server);
        engine = context.createSSLEngine("localhost", server.getPort());
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setMaximumPacketSize(1400);
        engine.setSSLParameters(p);
    }

    /**
     * Runs the handshake until {@code flights} flights are sent, then returns.
     *
     * @throws IOException when the server is silent for {@code patience}, or the engine fails
     */
    void abandonAfterFlight(int flights, Duration patience) throws IOException {
        engine.beginHandshake();
        for (int steps = 0; steps < 10_000; steps++) {
            if (flightSent(flights)) {
                return;
            }
            HandshakeStatus hs = engine.getHandshakeStatus();
            switch (hs) {
                case NEED_TASK -> runTasks();
                case NEED_WRAP -> {
                    ByteBuffer out = ByteBuffer.allocate(20_000);
                    engine.wrap(EMPTY, out);
                    runTasks();
                    out.flip();
                    if (out.hasRemaining()) {
                        byte[] b = new byte[out.remaining()];
                        out.get(b);
                        socket.send(new DatagramPacket(b, b.length));
                        describe(b);
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    ByteBuffer in = hs == HandshakeStatus.NEED_UNWRAP_AGAIN ? EMPTY : ByteBuffer.wrap(receive(patience));
                    engine.unwrap(in, ByteBuffer.allocate(20_000));
                    runTasks();
                }
                case NOT_HANDSHAKING, FINISHED -> throw new IOException("the handshake ended before flight " + flights + ": " + recordsSent);
            }
        }
        throw new IOException("no flight " + flights + " in 10,000 engine steps: " + recordsSent);
    }

    /**
     * Whether flight {@code n} is out, judged by what was sent (the engine may send a flight again on
     * its own timer): 1, a ClientHello; 2, a second one (with the cookie); 3, a record of epoch 1 (the
     * Finished, last of its flight).
     */
    private boolean flightSent(int n) {
        long hellos = recordsSent.stream().filter("22/0/1"::equals).count();
        return switch (n) {
            case 1 -> hellos >= 1;
            case 2 -> hellos >= 2;
            default -> recordsSent.stream().anyMatch(r -> r.startsWith("22/1"));
        };
    }

    private void describe(byte[] d) {
        for (int at = 0; at + 13 <= d.length; ) {
            int type = d[at] & 0xff;
            int epoch = (d[at + 3] & 0xff) << 8 | (d[at + 4] & 0xff);
            int length = (d[at + 11] & 0xff) << 8 | (d[at + 12] & 0xff);
            recordsSent.add(type + "/" + epoch + (type == 22 && epoch == 0 && at + 13 < d.length ? "/" + (d[at + 13] & 0xff) : ""));
            at += 13 + length;
        }
    }

    private byte[] receive(Duration patience) throws IOException {
        socket.setSoTimeout((int) patience.toMillis());
        DatagramPacket p = new DatagramPacket(receiveBuffer, receiveBuffer.length);
        try {
            socket.receive(p);
        } catch (SocketTimeoutException e) {
            throw new IOException("the server was silent for " + patience.toMillis() + " ms, engine " + engine.getHandshakeStatus(), e);
        }
        return Arrays.copyOf(p.getData(), p.getLength());
    }

    private void runTasks() {
        Runnable t;
        while ((t = engine.getDelegatedTask()) != null) {
            t.run();
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
