package dev.abyss.testsupport;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
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
import java.util.function.Predicate;

/**
 * A DTLS 1.2 client for tests: the JDK's SSLEngine in client mode over a connected
 * DatagramSocket, retransmitting its flights every {@link #retransmitMillis} ms while it waits.
 * Hooks for the cases tests need: {@link #dropIncoming} drops server datagrams before the engine
 * sees them (a lost flight), {@link #lastSent} is the last datagram sent (to replay it).
 */
public final class DtlsClient implements AutoCloseable {
    /** How long the client waits for the server before it sends its last flight again; tests may lengthen it. */
    public volatile int retransmitMillis = 400;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final DatagramSocket socket;
    private final SSLEngine engine;
    private final byte[] receiveBuffer = new byte[65_536];
    /** Server datagrams for which this returns true are dropped unread (counted in {@link #dropped}). */
    public volatile Predicate<byte[]> dropIncoming = d -> false;
    public volatile int dropped;
    /** Handshake datagrams sent (retransmissions included). */
    public volatile int handshakeDatagramsSent;
    /** Times the client sent its last flight again because the server was silent. */
    public volatile int retransmissions;
    private byte[] lastSent;
    private boolean peerClosed;

    /**
     * @param server  where the server listens
     * @param context the client's DTLS context (its key, if any, and what it trusts)
     * @param alpn    ALPN protocols to offer, none for no ALPN
     */
    public DtlsClient(InetSocketAddress server, SSLContext context, String... alpn) throws IOException {
        this(new DatagramSocket(0, InetAddress.getLoopbackAddress()), server, context, alpn);
    }

    /** As above, on a socket the caller made (bound where it wants: a restart reuses a port). */
    public DtlsClient(DatagramSocket socket, InetSocketAddress server, SSLContext context, String... alpn) throws IOException {
        this.socket = socket;
        socket.connect(server);
        this.engine = context.createSSLEngine("localhost", server.getPort());
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setMaximumPacketSize(1400);
        if (alpn.length > 0) {
            p.setApplicationProtocols(alpn);
        }
        engine.setSSLParameters(p);
    }

    public SSLEngine engine() {
        return engine;
    }

    public DatagramSocket socket() {
        return socket;
    }

    /** Runs the handshake to its end; throws SSLException when it fails, IOException past {@code within}. */
    public void handshake(Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        engine.beginHandshake();
        while (true) {
            HandshakeStatus hs = engine.getHandshakeStatus();
            switch (hs) {
                case NOT_HANDSHAKING, FINISHED -> {
                    return;
                }
                case NEED_TASK -> runTasks();
                case NEED_WRAP -> {
                    wrapAndSend(EMPTY);
                    handshakeDatagramsSent++;
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (hs == HandshakeStatus.NEED_UNWRAP_AGAIN) {
                        unwrap(EMPTY);
                        continue;
                    }
                    byte[] d = receive(deadline);
                    if (d == null) {
                        wrapAndSend(EMPTY); // waiting: the engine sends its last flight again
                        handshakeDatagramsSent++;
                        retransmissions++;
                    } else {
                        unwrap(ByteBuffer.wrap(d));
                    }
                }
            }
        }
    }

    private byte[] receive(long deadline) throws IOException {
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IOException("DTLS handshake with " + socket.getRemoteSocketAddress() + " did not complete in time, engine "
                        + engine.getHandshakeStatus());
            }
            socket.setSoTimeout((int) Math.max(1, Math.min(retransmitMillis, left / 1_000_000)));
            DatagramPacket p = new DatagramPacket(receiveBuffer, receiveBuffer.length);
            try {
                socket.receive(p);
            } catch (SocketTimeoutException e) {
                return null;
            }
            byte[] d = Arrays.copyOf(p.getData(), p.getLength());
            if (dropIncoming.test(d)) {
                dropped++;
                continue;
            }
            return d;
        }
    }

    private SSLEngineResult unwrap(ByteBuffer in) throws SSLException {
        ByteBuffer out = ByteBuffer.allocate(20_000);
        SSLEngineResult r = engine.unwrap(in, out);
        runTasks();
        return r;
    }

    private void runTasks() {
        Runnable t;
        while ((t = engine.getDelegatedTask()) != null) {
            t.run();
        }
    }

    private void wrapAndSend(ByteBuffer data) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(20_000);
        engine.wrap(data, out);
        runTasks();
        out.flip();
        if (out.hasRemaining()) {
            byte[] b = new byte[out.remaining()];
            out.get(b);
            sendRaw(b);
        }
    }

    /** Sends {@code datagram} as is. */
    public void sendRaw(byte[] datagram) throws IOException {
        lastSent = datagram;
        socket.send(new DatagramPacket(datagram, datagram.length));
    }

    /** {@return the last datagram sent, as sent} */
    public byte[] lastSent() {
        return lastSent.clone();
    }

    /** {@return {@code plaintext} as one application record, not sent} */
    public byte[] seal(byte[] plaintext) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(20_000);
        engine.wrap(ByteBuffer.wrap(plaintext), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }

    /** {@return the first flight of a fresh handshake (a ClientHello without a cookie), not sent} */
    public byte[] firstHello() throws IOException {
        engine.beginHandshake();
        return seal(new byte[0]);
    }

    /** Sends {@code plaintext} as one application record. */
    public void send(byte[] plaintext) throws IOException {
        wrapAndSend(ByteBuffer.wrap(plaintext));
    }

    /**
     * The next application data from the server within {@code within}, or null when none came or
     * the server closed (then {@link #peerClosed()}); handshake retransmissions are answered meanwhile.
     */
    public byte[] receive(Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline && !peerClosed) {
            byte[] d;
            try {
                d = receive(deadline);
            } catch (IOException timeUp) {
                return null;
            }
            if (d == null) {
                continue;
            }
            ByteBuffer in = ByteBuffer.wrap(d);
            while (in.hasRemaining()) {
                ByteBuffer out = ByteBuffer.allocate(20_000);
                SSLEngineResult r = engine.unwrap(in, out);
                runTasks();
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    peerClosed = true;
                    return null;
                }
                while (engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP) {
                    wrapAndSend(EMPTY);
                }
                if (r.bytesProduced() > 0) {
                    out.flip();
                    byte[] b = new byte[out.remaining()];
                    out.get(b);
                    return b;
                }
                if (r.bytesConsumed() == 0) {
                    break;
                }
            }
        }
        return null;
    }

    /** {@return true once a close_notify from the server was read} */
    public boolean peerClosed() {
        return peerClosed;
    }

    /** Sends a close_notify. */
    public void closeNotify() throws IOException {
        engine.closeOutbound();
        wrapAndSend(EMPTY);
    }

    @Override
    public void close() {
        socket.close();
    }
}
