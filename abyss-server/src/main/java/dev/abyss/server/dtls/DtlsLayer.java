package dev.abyss.server.dtls;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.Negotiated;
import dev.abyss.server.SendResult;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.JfrEvents;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One session's DTLS 1.2 over the JDK's {@link SSLEngine} in server mode.
 *
 * <p><b>Handshake.</b> The session opens on a ClientHello that carries a cookie of ours
 * ({@link DtlsLayers}): the peer's address is validated there. A fresh JDK engine accepts only a
 * cookie-less hello with message_seq 0 and then insists on its own cookie, so the engine is first
 * shown that hello without its cookie (its HelloVerifyRequest is discarded), then the client's
 * real hello, which it answers with its own HelloVerifyRequest: one round trip more than the JDK
 * alone, and none of it before the address was validated. Flights go out one record per datagram
 * of at most {@code maxRecordSize} bytes; a flight the client does not answer is sent again after
 * 1 s, then 2, 4, ... up to 60 s (RFC 6347 4.2.4) on the session's timer, until the handshake
 * timeout fails it: {@code handleError(SSLHandshakeException)}, the only callback.
 *
 * <p><b>Records.</b> After the handshake each datagram is checked before the engine sees it:
 * malformed records, records of another epoch, records already seen (a 64-record replay window
 * kept here) and renegotiations are dropped and counted; a record whose MAC fails is dropped by the
 * engine and counted here. None of them ends the session. A close_notify ends it with
 * {@code handleClose}; {@link #closing()} sends one. One application send is one record in one
 * datagram; a send larger than fits is refused with an IllegalArgumentException naming both sizes.
 *
 * <p><b>Threads.</b> Unwrap and the timer run on the session's callback thread, sends on any; one
 * lock (this) orders them. Buffers: both ways use the calling thread's {@link Buffers} (one per
 * acceptor thread in INLINE mode), none per session. They are heap buffers: the JDK's engine
 * allocates more per record with direct ones ({@code DtlsRecordBenchmark}), and it decrypts in place
 * in its source buffer, so a received record is copied out of the transport's read-only view once.
 */
final class DtlsLayer implements SessionLayer {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    private static final long FIRST_RETRANSMIT_NANOS = 1_000_000_000L;
    private static final long LAST_RETRANSMIT_NANOS = 60_000_000_000L;
    /** DTLS 1.2 without renegotiation: the client's records are in epoch 1 once its Finished is sent. */
    private static final int DATA_EPOCH = 1;

    /**
     * A thread's buffers: the datagram in, its plaintext, and the way out (the JDK's engine wants
     * room for a whole 16,709-byte packet in every wrap and unwrap, whatever it then writes: kept per
     * thread, not per session, so an idle session holds none; about 54 KiB of heap per thread, so per
     * session in VIRTUAL_THREADS mode while its thread lives).
     */
    static final class Buffers {
        ByteBuffer netIn = ByteBuffer.allocate(2048);
        MemorySegment netInSegment = MemorySegment.ofBuffer(netIn);
        final ByteBuffer appIn = ByteBuffer.allocate(PACKET);
        final ByteBuffer netOut = ByteBuffer.allocate(PACKET);
        final ByteBuffer plainOut = ByteBuffer.allocate(PACKET);
        final MemorySegment appInSegment = MemorySegment.ofBuffer(appIn);
        final MemorySegment netOutSegment = MemorySegment.ofBuffer(netOut);
        final MemorySegment plainOutSegment = MemorySegment.ofBuffer(plainOut);
        /** Read-only views of the plaintext, kept and reused: a steady stream allocates none. */
        final dev.abyss.server.transport.ViewCache views = new dev.abyss.server.transport.ViewCache(1, 16);

        /** Room for a datagram of {@code bytes}: grown (rarely: a datagram larger than any before on this thread). */
        void fit(long bytes) {
            if (bytes > netIn.capacity()) {
                netIn = ByteBuffer.allocate((int) Math.max(bytes, 2L * netIn.capacity()));
                netInSegment = MemorySegment.ofBuffer(netIn);
            }
        }
    }

    /** Room for the largest DTLS packet the JDK makes (its getPacketBufferSize, 16,709), rounded up. */
    static final int PACKET = 17_408;

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private final DtlsLayers.PerAcceptor acceptor;
    private final Wire wire;
    private final SSLEngine engine;
    private final long startedAt;
    private final long handshakeDeadline;
    /** {@code Dtls.maxRecordSize()}, read on every send. */
    private final int maxRecordSize;

    private boolean begun;
    private volatile boolean established;
    /** The handshake's place under maxHandshakes is given back (once). */
    private boolean placeGivenBack;
    /** The layer ended the session itself (failure, close_notify received): nothing more to say. */
    private boolean over;
    private boolean closedOut;
    /** The client has sent application data: its Finished arrived, a handshake record now is a renegotiation. */
    private boolean clientSentData;
    private long retransmitNanos = FIRST_RETRANSMIT_NANOS;
    private volatile long timerAt;
    private long replayTop = -1;
    private long replayWindow;
    private Negotiated negotiated;

    DtlsLayer(DtlsLayers.PerAcceptor acceptor, Wire wire, SSLEngine engine) {
        this.acceptor = acceptor;
        this.wire = wire;
        this.engine = engine;
        this.startedAt = System.nanoTime();
        this.handshakeDeadline = startedAt + acceptor.layers().dtls.handshakeTimeout().toNanos();
        this.maxRecordSize = acceptor.layers().dtls.maxRecordSize();
        this.timerAt = handshakeDeadline;
    }

    // ---- the way in ------------------------------------------------------------------------------

    @Override
    public synchronized MemorySegment unwrap(MemorySegment datagram) {
        if (over) {
            return null;
        }
        Buffers b = BUFFERS.get();
        if (datagram.byteSize() > 65_536) {
            acceptor.acceptor.count(Counters.DTLS_RECORDS_MALFORMED);
            return null;
        }
        b.fit(datagram.byteSize());
        b.netIn.clear();
        MemorySegment.copy(datagram, 0, b.netInSegment, 0, datagram.byteSize());
        b.netIn.limit((int) datagram.byteSize());
        b.appIn.clear();
        try {
            if (!established) {
                handshake(datagram, b);
                return b.appIn.position() > 0 ? plaintext(b) : null;
            }
            return records(datagram, b);
        } catch (SSLException e) {
            throw fail(e);
        }
    }

    /** A datagram while the handshake runs. */
    private void handshake(MemorySegment datagram, Buffers b) throws SSLException {
        if (!begun) {
            begun = true;
            peerValidated();
            warmUp(datagram, b);
        }
        int before = b.netIn.remaining();
        boolean sent = drive(b);
        if (!established && (sent || b.netIn.remaining() < before)) {
            retransmitNanos = FIRST_RETRANSMIT_NANOS; // the client moved on: a fresh back-off for the next flight
            armRetransmit(System.nanoTime());
        }
    }

    /**
     * The moment the peer's address is validated: its ClientHello carried a cookie made for that
     * address (checked statelessly before this session existed): the amplification limit for
     * unvalidated peers lifts here, before the server's first flight (larger than the hello) goes out.
     */
    private void peerValidated() {
        wire.markValidated();
    }

    /**
     * Shows the fresh engine the client's hello as a first hello (no cookie, message_seq 0, record
     * sequence 0), the only one a new JDK engine reads, and discards its HelloVerifyRequest: the
     * engine then reads the client's real hello (message_seq 1) as a second one.
     */
    private void warmUp(MemorySegment datagram, Buffers b) throws SSLException {
        ClientHello hello = new ClientHello();
        if (!hello.parse(datagram) || hello.messageSeq == 0) {
            engine.beginHandshake();
            return; // a first hello itself (a client that skips the cookie exchange): the engine takes it as is
        }
        int cookie = hello.cookieLength;
        int record = hello.recordLength - cookie;
        byte[] warm = new byte[record];
        MemorySegment w = MemorySegment.ofArray(warm);
        MemorySegment.copy(datagram, 0, w, 0, hello.cookieLengthAt);
        Records.put8(w, hello.cookieLengthAt, 0);
        MemorySegment.copy(datagram, hello.cookieLengthAt + 1 + cookie, w, hello.cookieLengthAt + 1,
                hello.recordLength - hello.cookieLengthAt - 1 - cookie);
        for (int i = Records.EPOCH_AT; i < Records.LENGTH_AT; i++) {
            Records.put8(w, i, 0);
        }
        Records.put16(w, Records.LENGTH_AT, record - Records.HEADER);
        int body = record - ClientHello.BODY_AT;
        Records.put24(w, Records.HEADER + 1, body);
        Records.put16(w, Records.HEADER + 4, 0);
        Records.put24(w, Records.HEADER + 9, body);
        engine.beginHandshake();
        ByteBuffer in = ByteBuffer.wrap(warm);
        b.appIn.clear();
        engine.unwrap(in, b.appIn);
        b.appIn.clear();
        runTasks();
        for (int i = 0; i < 8 && engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP; i++) {
            b.netOut.clear();
            engine.wrap(EMPTY, b.netOut); // the engine's HelloVerifyRequest to the warm-up hello: not sent
            runTasks();
        }
    }

    /** Runs the engine until it needs more from the peer; true when it sent anything. */
    private boolean drive(Buffers b) throws SSLException {
        boolean sent = false;
        for (int guard = 0; guard < 64; guard++) {
            HandshakeStatus hs = engine.getHandshakeStatus();
            switch (hs) {
                case NEED_TASK -> runTasks();
                case NEED_WRAP -> {
                    b.netOut.clear();
                    SSLEngineResult r = engine.wrap(EMPTY, b.netOut);
                    sent |= flush(b);
                    if (r.getHandshakeStatus() == HandshakeStatus.FINISHED) {
                        completed();
                    }
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        return sent;
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (hs == HandshakeStatus.NEED_UNWRAP && !b.netIn.hasRemaining()) {
                        return sent;
                    }
                    SSLEngineResult r = engine.unwrap(b.netIn, b.appIn);
                    if (r.getHandshakeStatus() == HandshakeStatus.FINISHED) {
                        completed();
                    }
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SSLHandshakeException("the client closed the connection during the handshake");
                    }
                    if (hs == HandshakeStatus.NEED_UNWRAP && r.bytesConsumed() == 0 && r.bytesProduced() == 0
                            && engine.getHandshakeStatus() == hs) {
                        return sent; // nothing more the engine can use in this datagram
                    }
                    // NEED_UNWRAP_AGAIN: the engine works through a flight it buffered without reading bytes; the guard bounds it
                }
                case NOT_HANDSHAKING, FINISHED -> {
                    if (begun && !established) {
                        completed();
                    }
                    return sent;
                }
            }
        }
        return sent;
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run(); // certificate checks and key agreement, on this thread: bounded by maxHandshakes
        }
    }

    /** Sends what the engine just wrote to netOut, if anything. */
    private boolean flush(Buffers b) {
        if (b.netOut.position() == 0) {
            return false;
        }
        wire.send(b.netOutSegment, 0, b.netOut.position());
        return true;
    }

    private void completed() {
        if (established) {
            return;
        }
        javax.net.ssl.SSLSession session = engine.getSession();
        List<X509Certificate> chain = new ArrayList<>();
        try {
            for (Certificate c : session.getPeerCertificates()) {
                if (c instanceof X509Certificate x) {
                    chain.add(x);
                }
            }
        } catch (SSLPeerUnverifiedException none) {
            // the client sent no certificate (clientAuth NONE or WANT)
        }
        String alpn = engine.getApplicationProtocol();
        negotiated = new Negotiated(session.getProtocol(), session.getCipherSuite(), chain,
                alpn == null || alpn.isEmpty() ? Optional.empty() : Optional.of(alpn));
        established = true;
        timerAt = NO_TIMER;
        giveBackPlace();
        acceptor.acceptor.count(Counters.DTLS_HANDSHAKES_COMPLETED);
        JfrEvents.dtlsHandshake(wire.peer(), startedAt, "completed", session.getCipherSuite(), null);
    }

    private void giveBackPlace() {
        if (!placeGivenBack) {
            placeGivenBack = true;
            acceptor.handshakes.decrementAndGet();
        }
    }

    /** A datagram of an established session: record by record, checked before the engine sees it. */
    private MemorySegment records(MemorySegment datagram, Buffers b) throws SSLException {
        int end = (int) datagram.byteSize();
        for (int at = 0; at < end; ) {
            int length = Records.recordLength(datagram, at);
            if (length < 0) {
                acceptor.acceptor.count(Counters.DTLS_RECORDS_MALFORMED);
                break; // the rest of the datagram cannot be framed
            }
            int type = Records.u8(datagram, at);
            int epoch = Records.u16(datagram, at + Records.EPOCH_AT);
            long sequence = Records.u48(datagram, at + Records.SEQUENCE_AT);
            int next = at + length;
            if (epoch == 0 && type == Records.HANDSHAKE && at == 0 && length > Records.HEADER
                    && Records.u8(datagram, Records.HEADER) == ClientHello.CLIENT_HELLO) { // an empty record has no msg_type to read
                restartedHello(datagram);
                return null;
            }
            boolean lateHandshake = epoch == 0 && !clientSentData; // the client's last flight again: the engine answers it
            if (epoch != DATA_EPOCH && !lateHandshake) {
                acceptor.acceptor.count(Counters.DTLS_RECORDS_WRONG_EPOCH);
            } else if (epoch == DATA_EPOCH && seen(sequence)) {
                acceptor.acceptor.count(Counters.DTLS_RECORDS_REPLAYED);
            } else if ((type == Records.HANDSHAKE || type == Records.CHANGE_CIPHER_SPEC) && clientSentData) {
                acceptor.acceptor.count(Counters.DTLS_RENEGOTIATIONS_REFUSED); // dropped: the session goes on as it was
            } else {
                b.netIn.limit(next).position(at);
                int before = b.appIn.position();
                SSLEngineResult r = engine.unwrap(b.netIn, b.appIn);
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    answerCloseNotify(b);
                    throw new PeerClosed("close_notify from the peer");
                }
                if (type == Records.APPLICATION_DATA) {
                    if (b.appIn.position() > before) {
                        clientSentData = true;
                        accept(sequence);
                    } else {
                        acceptor.acceptor.count(Counters.DTLS_RECORDS_BAD_MAC); // the engine discarded it (RFC 6347 4.1.2.7)
                    }
                }
                HandshakeStatus hs = r.getHandshakeStatus(); // the engine's status after this record: no second call (and lock) per record
                if (hs == HandshakeStatus.NEED_TASK || hs == HandshakeStatus.NEED_WRAP) {
                    if (clientSentData) {
                        acceptor.acceptor.count(Counters.DTLS_RENEGOTIATIONS_REFUSED);
                        throw new SSLException("the client started a renegotiation, which this server refuses");
                    }
                    drive(b); // the client's Finished again: our last flight was lost, the engine sends it again
                }
            }
            at = next;
        }
        return b.appIn.position() > 0 ? plaintext(b) : null;
    }

    /** The plaintext of this datagram: a view of the thread's buffer, valid until the next unwrap on this thread. */
    private static MemorySegment plaintext(Buffers b) {
        int length = b.appIn.position();
        return b.views.view(b.appInSegment, 0, length, 0, length);
    }

    /**
     * A ClientHello in epoch 0 on an established session: the client restarted (a new process on
     * the same address and port). Without a valid cookie it gets a HelloVerifyRequest, as a
     * stranger would; with one, this session ends cleanly ({@code handleClose}) so that the
     * client's next hello (it retransmits within a second) opens a new one.
     */
    private void restartedHello(MemorySegment datagram) {
        ClientHello hello = new ClientHello();
        PeerKey peer = wire.peer();
        long now = System.nanoTime();
        if (!hello.parse(datagram) || peer == null) {
            acceptor.acceptor.count(Counters.DTLS_RECORDS_WRONG_EPOCH);
            return;
        }
        DtlsLayers layers = acceptor.layers();
        if (!layers.cookies.verify(peer, datagram, hello, now)) {
            MemorySegment out = MemorySegment.ofArray(new byte[DtlsLayers.HELLO_VERIFY_REQUEST_BYTES]);
            acceptor.answer(peer, null, datagram, hello, now, out, (to, from, d, len) -> wire.send(d, 0, len));
            return;
        }
        over = true;
        throw new PeerClosed("the client restarted its handshake");
    }

    /** True when {@code sequence} is in the replay window as seen, or older than it. */
    private boolean seen(long sequence) {
        if (sequence > replayTop) {
            return false;
        }
        long back = replayTop - sequence;
        return back >= 64 || (replayWindow & (1L << back)) != 0;
    }

    /** Marks {@code sequence} seen: a record that authenticated. */
    private void accept(long sequence) {
        if (sequence > replayTop) {
            long shift = sequence - replayTop;
            replayWindow = shift >= 64 ? 1 : replayWindow << shift | 1;
            replayTop = sequence;
        } else {
            replayWindow |= 1L << (replayTop - sequence);
        }
    }

    private void answerCloseNotify(Buffers b) {
        over = true;
        try {
            engine.closeOutbound();
            b.netOut.clear();
            engine.wrap(EMPTY, b.netOut);
            flush(b);
        } catch (SSLException | RuntimeException ignored) {
            // the peer has gone: our close_notify is a courtesy
        }
    }

    /**
     * The handshake failed: the engine's alert goes out, the failure is counted by cause, and the
     * session ends with handleError as its only callback.
     */
    private RuntimeException fail(SSLException e) {
        over = true;
        Buffers b = BUFFERS.get();
        try {
            for (int i = 0; i < 4 && !engine.isOutboundDone(); i++) {
                b.netOut.clear();
                engine.wrap(EMPTY, b.netOut); // the fatal alert the engine owes the client
                if (!flush(b)) {
                    break;
                }
            }
        } catch (SSLException | RuntimeException ignored) {
            // no alert to send
        }
        if (!established) {
            int cause = causeOf(e);
            acceptor.acceptor.count(cause);
            giveBackPlace();
            JfrEvents.dtlsHandshake(wire.peer(), startedAt, cause == Counters.DTLS_HANDSHAKES_FAILED_ALERT ? "alert"
                    : cause == Counters.DTLS_HANDSHAKES_FAILED_CERTIFICATE ? "certificate" : "other", null, e);
            return new Failed(e instanceof SSLHandshakeException ? e : new SSLHandshakeException(e.getMessage(), e));
        }
        return new Failed(e);
    }

    /** The counter of a failed handshake's cause. */
    static int causeOf(SSLException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
        if (m.contains("received fatal alert")) {
            return Counters.DTLS_HANDSHAKES_FAILED_ALERT;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException) {
                return Counters.DTLS_HANDSHAKES_FAILED_CERTIFICATE;
            }
        }
        return m.contains("certificate") ? Counters.DTLS_HANDSHAKES_FAILED_CERTIFICATE : Counters.DTLS_HANDSHAKES_FAILED_OTHER;
    }

    // ---- timers ----------------------------------------------------------------------------------

    private void armRetransmit(long now) {
        timerAt = Math.min(handshakeDeadline, now + retransmitNanos);
    }

    @Override
    public long timerNanos() {
        return timerAt;
    }

    @Override
    public synchronized void onTimer(long now) {
        if (established || over) {
            timerAt = NO_TIMER;
            return;
        }
        if (now - handshakeDeadline >= 0) {
            over = true;
            timerAt = NO_TIMER;
            acceptor.acceptor.count(Counters.DTLS_HANDSHAKES_TIMED_OUT);
            giveBackPlace();
            SSLHandshakeException timedOut = new SSLHandshakeException("DTLS handshake did not complete within "
                    + acceptor.layers().dtls.handshakeTimeout() + " (handshakeTimeout)");
            JfrEvents.dtlsHandshake(wire.peer(), startedAt, "timeout", null, timedOut);
            throw new Failed(timedOut);
        }
        if (now - timerAt >= 0) {
            Buffers b = BUFFERS.get();
            try {
                b.netOut.clear();
                engine.wrap(EMPTY, b.netOut); // waiting for the client: a wrap makes the engine send its last flight again
                flush(b);
                b.netIn.clear().limit(0);
                drive(b);
            } catch (SSLException e) {
                throw fail(e);
            }
            retransmitNanos = Math.min(LAST_RETRANSMIT_NANOS, retransmitNanos * 2);
            armRetransmit(now);
        }
    }

    // ---- the way out -----------------------------------------------------------------------------

    @Override
    public synchronized SendResult wrap(MemorySegment plaintext, long offset, long length) {
        java.util.Objects.checkFromIndexSize(offset, length, plaintext.byteSize());
        if (!established || over || closedOut) {
            return SendResult.CLOSED;
        }
        if (length > maxRecordSize) {
            throw tooLarge(length);
        }
        Buffers b = BUFFERS.get();
        b.plainOut.clear();
        MemorySegment.copy(plaintext, offset, b.plainOutSegment, 0, length);
        b.plainOut.limit((int) length);
        b.netOut.clear();
        SSLEngineResult r;
        try {
            r = engine.wrap(b.plainOut, b.netOut);
        } catch (SSLException e) {
            return SendResult.CLOSED; // the engine is closed: the session ends through its own path
        }
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
            return SendResult.CLOSED;
        }
        if (r.bytesConsumed() < length) {
            throw tooLarge(length); // the record it made is not sent: a gap in sequence numbers is normal in DTLS
        }
        return wire.send(b.netOutSegment, 0, b.netOut.position());
    }

    private IllegalArgumentException tooLarge(long length) {
        int max = acceptor.layers().dtls.maxRecordSize();
        return new IllegalArgumentException("a DTLS send of " + length + " bytes does not fit in one record of maxRecordSize " + max
                + " bytes with cipher suite " + engine.getSession().getCipherSuite()
                + " (header, nonce and tag take 29 to 77 bytes); Abyss never splits a send over several datagrams");
    }

    @Override
    public boolean ready() {
        return established;
    }

    @Override
    public Negotiated negotiated() {
        return negotiated;
    }

    @Override
    public synchronized void closing() {
        if (over || closedOut || !established) {
            return;
        }
        closedOut = true;
        Buffers b = BUFFERS.get();
        try {
            engine.closeOutbound();
            b.netOut.clear();
            engine.wrap(EMPTY, b.netOut);
            flush(b);
        } catch (SSLException | RuntimeException ignored) {
            // nothing to say goodbye with
        }
    }

    @Override
    public synchronized void closed() {
        over = true;
        timerAt = NO_TIMER;
        giveBackPlace();
    }

    /** Reads a byte of a segment (tests). */
    static int byteAt(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xff;
    }
}
