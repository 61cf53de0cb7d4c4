package dev.abyss.server.dtls;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.Dtls;
import dev.abyss.server.SendResult;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.engine.telemetry.Counters;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The DTLS {@link SessionLayer.Factory} of a server: one {@link Cookies} secret for every acceptor,
 * and per acceptor ({@link #forAcceptor}) the stateless cookie check in front of admission and the
 * bound on handshakes in progress.
 *
 * <p>What a ClientHello from a peer without a session gets, before anything is kept for it:
 * <ul>
 *   <li>no valid cookie: a HelloVerifyRequest of {@value #HELLO_VERIFY_REQUEST_BYTES} bytes (never
 *       more than the datagram it answers, else nothing), counted in {@code DTLS_COOKIES_SENT};</li>
 *   <li>a valid cookie while the acceptor has {@link Dtls#maxHandshakes()} in progress: dropped,
 *       counted in {@code DTLS_HANDSHAKES_BUSY}; the client retransmits its hello and gets in once a
 *       place frees (a handshake completes, fails or times out);</li>
 *   <li>a valid cookie otherwise: admitted; its session's {@link DtlsLayer} makes the SSLEngine.</li>
 * </ul>
 * Anything else from a stranger is dropped and counted ({@code DTLS_HELLOS_DROPPED} for a hello
 * that does not parse, {@code DTLS_STRANGERS_DROPPED} for the rest).
 */
public final class DtlsLayers implements SessionLayer.Factory {
    /** A HelloVerifyRequest: record header, handshake header, version, cookie length, cookie. */
    static final int HELLO_VERIFY_REQUEST_BYTES = Records.HEADER + ClientHello.HANDSHAKE_HEADER + 2 + 1 + Cookies.LENGTH;

    final Dtls dtls;
    final Cookies cookies = new Cookies(System.nanoTime());
    private final String[] alpn;

    public DtlsLayers(Dtls dtls) {
        this.dtls = dtls;
        this.alpn = dtls.alpn().toArray(String[]::new);
    }

    @Override
    public SessionLayer open(SessionLayer.Wire wire) {
        throw new IllegalStateException("DTLS layers are opened per acceptor (forAcceptor)");
    }

    @Override
    public SessionLayer.Factory forAcceptor(SessionLayer.Acceptor acceptor) {
        return new PerAcceptor(acceptor);
    }

    /** A server-mode DTLS 1.2 engine with the configured parameters. */
    SSLEngine newEngine() {
        SSLEngine e = dtls.context().createSSLEngine();
        e.setUseClientMode(false);
        SSLParameters p = e.getSSLParameters();
        p.setProtocols(Dtls.PROTOCOLS.toArray(String[]::new));
        p.setMaximumPacketSize(dtls.maxRecordSize());
        switch (dtls.clientAuth()) {
            case NEED -> p.setNeedClientAuth(true);
            case WANT -> p.setWantClientAuth(true);
            case NONE -> {
            }
        }
        if (alpn.length > 0) {
            p.setApplicationProtocols(alpn);
        }
        e.setSSLParameters(p);
        return e;
    }

    /** One acceptor's side: its cookie check (acceptor thread), its handshakes in progress (any thread). */
    final class PerAcceptor implements SessionLayer.Factory {
        final SessionLayer.Acceptor acceptor;
        final AtomicInteger handshakes = new AtomicInteger();
        private final ClientHello hello = new ClientHello();
        private final MemorySegment reply = MemorySegment.ofArray(new byte[HELLO_VERIFY_REQUEST_BYTES]);

        PerAcceptor(SessionLayer.Acceptor acceptor) {
            this.acceptor = acceptor;
        }

        DtlsLayers layers() {
            return DtlsLayers.this;
        }

        @Override
        public SessionLayer open(SessionLayer.Wire wire) {
            SSLEngine engine = newEngine(); // first: an engine that cannot be made must not hold a place
            handshakes.incrementAndGet(); // given back by the layer when its handshake ends, one way or another
            return new DtlsLayer(this, wire, engine);
        }

        /** Acceptor thread: the stateless check of a stranger's datagram (see the class comment). */
        @Override
        public boolean admits(PeerKey peer, PeerKey arrivedAt, MemorySegment datagram) {
            if (!hello.parse(datagram)) {
                acceptor.count(Records.recordLength(datagram, 0) > 0 && Records.u8(datagram, 0) == Records.HANDSHAKE
                        && Records.u16(datagram, Records.EPOCH_AT) == 0 ? Counters.DTLS_HELLOS_DROPPED : Counters.DTLS_STRANGERS_DROPPED);
                return false;
            }
            long now = System.nanoTime();
            if (!cookies.verify(peer, datagram, hello, now)) {
                answer(peer, arrivedAt, datagram, hello, now, reply, (to, from, d, len) -> acceptor.reply(to, from, d, 0, len));
                return false;
            }
            if (handshakes.get() >= dtls.maxHandshakes()) {
                acceptor.count(Counters.DTLS_HANDSHAKES_BUSY);
                return false;
            }
            return true;
        }

        /** How a HelloVerifyRequest leaves: the acceptor's stateless path, or a session's wire. */
        interface Sender {
            SendResult send(PeerKey to, PeerKey from, MemorySegment data, long length);
        }

        /**
         * Answers {@code hello} with a HelloVerifyRequest built in {@code out}, unless that would be
         * more bytes than the datagram it answers (then it is dropped and counted).
         */
        void answer(PeerKey peer, PeerKey arrivedAt, MemorySegment datagram, ClientHello hello, long now, MemorySegment out, Sender sender) {
            if (HELLO_VERIFY_REQUEST_BYTES > datagram.byteSize()) {
                acceptor.count(Counters.DTLS_HELLOS_DROPPED); // never more bytes out than came in
                return;
            }
            writeHelloVerifyRequest(peer, datagram, hello, now, out);
            if (sender.send(peer, arrivedAt, out, HELLO_VERIFY_REQUEST_BYTES) == SendResult.OK) {
                acceptor.count(Counters.DTLS_COOKIES_SENT); // a refused one (rate limit, full queue) is counted by the outbox
            }
        }
    }

    /**
     * A HelloVerifyRequest for {@code hello} (RFC 6347 4.2.1): epoch 0, the hello's record sequence
     * number and version, message_seq 0, the hello's version as server_version (clients accept it
     * as well as 1.0's), our cookie.
     */
    void writeHelloVerifyRequest(PeerKey peer, MemorySegment datagram, ClientHello hello, long now, MemorySegment out) {
        int body = 2 + 1 + Cookies.LENGTH;
        Records.put8(out, 0, Records.HANDSHAKE);
        Records.put16(out, 1, hello.recordVersion);
        Records.put16(out, Records.EPOCH_AT, 0);
        Records.put16(out, Records.SEQUENCE_AT, (int) (hello.recordSequence >>> 32));
        Records.put16(out, Records.SEQUENCE_AT + 2, (int) (hello.recordSequence >>> 16));
        Records.put16(out, Records.SEQUENCE_AT + 4, (int) hello.recordSequence);
        Records.put16(out, Records.LENGTH_AT, ClientHello.HANDSHAKE_HEADER + body);
        long h = Records.HEADER;
        Records.put8(out, h, ClientHello.HELLO_VERIFY_REQUEST);
        Records.put24(out, h + 1, body);
        Records.put16(out, h + 4, 0);
        Records.put24(out, h + 6, 0);
        Records.put24(out, h + 9, body);
        long b = ClientHello.BODY_AT;
        Records.put16(out, b, hello.clientVersion);
        Records.put8(out, b + 2, Cookies.LENGTH);
        cookies.write(peer, datagram, hello, now, out, b + 3);
    }
}
