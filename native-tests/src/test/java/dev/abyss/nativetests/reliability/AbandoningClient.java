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
 * It never retransmits: on loopback nothing is lost, and a retransmission would blur which flight
 * the server last saw.
 */
final class AbandoningClient implements AutoCloseable {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    private final DatagramSocket socket;
    private final SSLEngine engine;
    private final byte[] receiveBuffer = new byte[65_536];

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
        int sent = 0;
        boolean sending = false;
        for (int steps = 0; steps < 10_000; steps++) {
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
                    }
                    sending = true;
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (sending) { // a flight is out: the engine waits for the server
                        sending = false;
                        if (++sent == flights) {
                            return;
                        }
                    }
                    ByteBuffer in = hs == HandshakeStatus.NEED_UNWRAP_AGAIN ? EMPTY : ByteBuffer.wrap(receive(patience));
                    engine.unwrap(in, ByteBuffer.allocate(20_000));
                    runTasks();
                }
                case NOT_HANDSHAKING, FINISHED -> throw new IOException("the handshake ended after " + sent + " flights, before flight " + flights);
            }
        }
        throw new IOException("no flight " + flights + " in 10,000 engine steps");
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
