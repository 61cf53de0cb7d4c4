package dev.abyss.bench.load;

import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The DTLS side of one load-generator thread: seals plaintext into the thread's send batch, opens
 * received records into a plaintext buffer, and drives each peer's handshake from the datagrams
 * the thread receives and a retransmission timer. Every buffer is a view made once over the
 * thread's native batches, so sealing and opening allocate nothing of ours (the JDK's engine
 * allocates an {@link SSLEngineResult} per call).
 */
final class DtlsLink {
    /**
     * First retransmission after this long without the server's next flight: RFC 6347's 1 s (a
     * shorter one resends flights a busy server is still working on, and adds to its load).
     */
    static final long FIRST_TIMEOUT_NANOS = 1_000_000_000L;
    private static final long MAX_TIMEOUT_NANOS = 8_000_000_000L;
    private static final int MAX_STEPS = 64;

    private final DtlsClient client;
    private final MessageBatch out;
    private final ByteBuffer[] outViews;
    private final ByteBuffer[] inViews;
    /** Where a payload is written before it is sealed. */
    final MemorySegment plainOut;
    private final ByteBuffer plainOutBuffer;
    /** Where a received record's payload is opened. */
    final MemorySegment plainIn;
    private final ByteBuffer plainInBuffer;
    private final ByteBuffer empty = ByteBuffer.allocateDirect(0);

    /** One peer's engine and handshake state. */
    static final class Peer {
        final SSLEngine engine;
        boolean established;
        long retransmitAt = Long.MAX_VALUE;
        long timeout = FIRST_TIMEOUT_NANOS;
        int retransmissions;

        Peer(SSLEngine engine) {
            this.engine = engine;
        }
    }

    /**
     * @param out the thread's send batch (slots of at least {@link DtlsClient#packetBuffer()} bytes)
     * @param in  its receive batch
     */
    DtlsLink(DtlsClient client, Arena arena, MessageBatch out, MessageBatch in, int payload) {
        if (out.slotSize() < client.packetBuffer()) {
            throw new IllegalArgumentException("send slots of " + out.slotSize() + " bytes: an engine wraps into no less than "
                    + client.packetBuffer());
        }
        this.client = client;
        this.out = out;
        this.outViews = views(out);
        this.inViews = views(in);
        this.plainOut = arena.allocate(Math.max(payload, 1));
        this.plainOutBuffer = plainOut.asByteBuffer();
        // an engine refuses to open into less than its application buffer size (16 KiB and a little for DTLS)
        this.plainIn = arena.allocate(Math.max(payload, 1) + (32 << 10));
        this.plainInBuffer = plainIn.asByteBuffer();
    }

    private static ByteBuffer[] views(MessageBatch b) {
        ByteBuffer[] v = new ByteBuffer[b.capacity()];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.data().asSlice(b.dataOffset(i), b.slotSize()).asByteBuffer();
        }
        return v;
    }

    /** A new peer, its handshake not begun. */
    Peer peer() {
        return new Peer(client.engine());
    }

    /** Starts {@code p}'s handshake on its connected socket {@code fd}: the ClientHello goes out. */
    void begin(Peer p, int fd, long now) throws SSLException {
        p.engine.beginHandshake();
        drive(p, fd, now);
    }

    /**
     * Datagram {@code slot} of the receive batch ({@code length} bytes) arrived for {@code p} while
     * it is handshaking: its records are opened, then the handshake driven on (the next flight sent).
     */
    void handshakeInput(Peer p, int fd, int slot, int length, long now) throws SSLException {
        ByteBuffer src = inViews[slot].clear().limit(length);
        while (src.hasRemaining() && !p.established) {
            SSLEngineResult r = p.engine.unwrap(src, plainInBuffer.clear());
            if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                p.established = true;
            }
            runTasks(p.engine);
            if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() == 0) {
                break; // a truncated or unreadable record: the engine dropped it, the timer resends
            }
        }
        if (!p.established) {
            p.timeout = FIRST_TIMEOUT_NANOS; // the server answered: the back-off starts over
            drive(p, fd, now);
        }
    }

    /** Resends {@code p}'s last flight when the server has not answered it in time (doubling the wait, to 8 s). */
    void retransmitIfDue(Peer p, int fd, long now) throws SSLException {
        if (p.established || now < p.retransmitAt) {
            return;
        }
        p.retransmissions++;
        p.timeout = Math.min(p.timeout * 2, MAX_TIMEOUT_NANOS);
        // the JDK's engine resends its last flight when wrapped while it waits for the peer's
        for (int i = 0; i < MAX_STEPS; i++) {
            SSLEngineResult r = p.engine.wrap(empty, outViews[0].clear());
            if (r.bytesProduced() == 0) {
                break;
            }
            send(fd, r.bytesProduced());
            if (r.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                break;
            }
        }
        drive(p, fd, now);
    }

    /** Sends whatever {@code p}'s engine has to send, until it waits for the server or is done. */
    private void drive(Peer p, int fd, long now) throws SSLException {
        for (int step = 0; step < MAX_STEPS; step++) {
            switch (p.engine.getHandshakeStatus()) {
                case NEED_WRAP -> {
                    SSLEngineResult r = p.engine.wrap(empty, outViews[0].clear());
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SSLException("the engine closed during the handshake");
                    }
                    if (r.bytesProduced() > 0) {
                        send(fd, r.bytesProduced());
                    }
                    if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                        p.established = true;
                        return;
                    }
                }
                case NEED_TASK -> runTasks(p.engine);
                case NEED_UNWRAP_AGAIN -> {
                    SSLEngineResult r = p.engine.unwrap(empty, plainInBuffer.clear());
                    if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                        p.established = true;
                        return;
                    }
                }
                case NEED_UNWRAP -> {
                    p.retransmitAt = now + p.timeout;
                    return;
                }
                case FINISHED, NOT_HANDSHAKING -> {
                    p.established = true;
                    return;
                }
            }
        }
        throw new SSLException("the handshake did not settle in " + MAX_STEPS + " steps (status " + p.engine.getHandshakeStatus() + ")");
    }

    private static void runTasks(SSLEngine e) {
        for (Runnable t; (t = e.getDelegatedTask()) != null; ) {
            t.run();
        }
    }

    private void send(int fd, int length) {
        out.prepareSend(0, length, 0);
        out.send(fd, 0, 1, Net.MSG_DONTWAIT); // a flight lost here is resent on the timer, as one lost on the wire
    }

    /**
     * Seals the first {@code length} bytes of {@link #plainOut} into one record in send slot
     * {@code slot}; returns the record's size.
     */
    int seal(Peer p, int length, int slot) throws SSLException {
        SSLEngineResult r = p.engine.wrap(plainOutBuffer.clear().limit(length), outViews[slot].clear());
        if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() != length) {
            throw new SSLException("sealing " + length + " bytes: " + r.getStatus() + ", " + r.bytesConsumed() + " consumed");
        }
        return r.bytesProduced();
    }

    /** Seals the first {@code length} bytes of {@link #plainOut} into one record and sends it on {@code fd}. */
    void sendRecord(Peer p, int fd, int length) throws SSLException {
        send(fd, seal(p, length, 0));
    }

    /**
     * Opens the record in receive slot {@code slot} ({@code length} bytes) into {@link #plainIn};
     * returns the payload's size, 0 for a record that carried none (the engine dropped it, or a
     * handshake message), -1 when the engine refused it.
     */
    int open(Peer p, int slot, int length) throws SSLException {
        SSLEngineResult r = p.engine.unwrap(inViews[slot].clear().limit(length), plainInBuffer.clear());
        if (r.getStatus() != SSLEngineResult.Status.OK) {
            return -1;
        }
        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            runTasks(p.engine);
        }
        return r.bytesProduced();
    }
}
