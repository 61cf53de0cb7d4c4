package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.Session;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * A session: one peer on one acceptor. Its state, deadline and counters are written only by the
 * owning acceptor thread; other threads read counters with opaque loads and reach the session
 * through the acceptor's command queue.
 */
final class SessionImpl implements Session {
    private static final VarHandle OPEN;
    private static final VarHandle RECV_BYTES;
    private static final VarHandle RECV_PACKETS;
    private static final VarHandle SENT_BYTES;
    private static final VarHandle SENT_PACKETS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            OPEN = l.findVarHandle(SessionImpl.class, "open", boolean.class);
            RECV_BYTES = l.findVarHandle(SessionImpl.class, "recvBytes", long.class);
            RECV_PACKETS = l.findVarHandle(SessionImpl.class, "recvPackets", long.class);
            SENT_BYTES = l.findVarHandle(SessionImpl.class, "sentBytes", long.class);
            SENT_PACKETS = l.findVarHandle(SessionImpl.class, "sentPackets", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Acceptor acceptor;
    final PeerKey key;
    /** The peer as a Java address, made on first use (most sessions never need it). */
    private SocketAddress remote;
    /**
     * The address the peer talks to, on a wildcard socket (IP_PKTINFO): replies leave from it. Null
     * when the socket is bound to one address (then that is the source).
     */
    PeerKey arrival;
    private SocketAddress arrivalAddress;

    /** The handler state; replaced by every result. */
    Object state;
    /** Idle timeout from now on (readTimeout, or a persistent override). */
    long timeoutNanos;
    /** When the session times out unless something arrives. */
    long deadlineNanos;
    /** The wheel tick this session is filed under, -1 when not filed. */
    long wheelTick = -1;
    /**
     * The TOS / traffic class of the datagrams sent; 0 for the socket's, which is 0 (a byte: it packs
     * beside the flags, where a short would cost every session 8 bytes of heap).
     */
    private byte trafficClass;
    /** Set when a result gave a new deadline; the dispatcher clears it. */
    boolean rescheduled;
    /** The reason of an error end (an exception or the handler's reason). */
    Object endReason;
    /** The mailbox and thread of this session in VIRTUAL_THREADS mode, else null. */
    VirtualSession virtual;
    /** Telemetry: this session's span context and start time. */
    long spanContext;
    long openedAt;
    /** How the session ended (set by whoever ends it, before it is closed). */
    volatile SessionEnd endedBy;
    /** The JFR event of this session while a recording wants it, else null. */
    Object jfr;
    /** The acceptor's {@link IdleOrder}: which list this session is on and its neighbours there. */
    byte idleList;
    SessionImpl idlePrev;
    SessionImpl idleNext;

    @SuppressWarnings("unused") // via OPEN
    private boolean open = true;
    @SuppressWarnings("unused")
    private long recvBytes;
    @SuppressWarnings("unused")
    private long recvPackets;
    @SuppressWarnings("unused")
    private long sentBytes;
    @SuppressWarnings("unused")
    private long sentPackets;

    SessionImpl(Acceptor acceptor, PeerKey key, Object initialState, long timeoutNanos) {
        this.acceptor = acceptor;
        this.key = key;
        this.state = initialState;
        this.timeoutNanos = timeoutNanos;
    }

    // ---- owner-thread bookkeeping --------------------------------------------------------------

    boolean isOpenLocal() {
        return (boolean) OPEN.get(this);
    }

    /** Marks the session ended; true for the one caller that ended it. */
    boolean markClosed() {
        return OPEN.compareAndSet(this, true, false);
    }

    void countReceived(int bytes) {
        RECV_BYTES.setOpaque(this, (long) RECV_BYTES.get(this) + bytes);
        RECV_PACKETS.setOpaque(this, (long) RECV_PACKETS.get(this) + 1);
    }

    void countSent(int bytes) {
        SENT_BYTES.setOpaque(this, (long) SENT_BYTES.get(this) + bytes);
        SENT_PACKETS.setOpaque(this, (long) SENT_PACKETS.get(this) + 1);
    }

    // ---- Session -------------------------------------------------------------------------------

    @Override
    public SocketAddress remoteAddress() {
        SocketAddress r = remote;
        if (r == null) {
            r = key.toSocketAddress(); // racing threads make equal values: no lock needed
            remote = r;
        }
        return r;
    }

    @Override
    public SocketAddress localAddress() {
        if (arrival == null) {
            return acceptor.localAddress();
        }
        SocketAddress a = arrivalAddress;
        if (a == null) {
            a = arrival.toSocketAddress(); // racing threads make equal values
            arrivalAddress = a;
        }
        return a;
    }

    @Override
    public boolean send(MemorySegment data) {
        return acceptor.send(this, data, 0, data.byteSize());
    }

    @Override
    public boolean send(byte[] data) {
        return acceptor.send(this, MemorySegment.ofArray(data), 0, data.length);
    }

    @Override
    public boolean send(MemorySegment data, long offset, long length) {
        java.util.Objects.checkFromIndexSize(offset, length, data.byteSize());
        return acceptor.send(this, data, offset, length);
    }

    @Override
    public boolean send(ByteBuffer data) {
        return acceptor.send(this, data);
    }

    @Override
    public int sendSegments(MemorySegment data, long offset, long length, int segmentSize) {
        return acceptor.sendSegments(this, data, offset, length, segmentSize);
    }

    @Override
    public void setTrafficClass(int trafficClass) {
        this.trafficClass = (byte) Math.max(0, Outbox.checkTrafficClass(trafficClass));
    }

    @Override
    public int trafficClass() {
        return trafficClass == 0 ? -1 : trafficClass & 0xFF;
    }

    @Override
    public DatagramInfo datagram() {
        DatagramInfo d = datagramNow();
        return d != null ? d : DatagramFacts.NONE;
    }

    /** The facts of the datagram being handled, null outside a datagram's callback (kept by the dispatcher, not per session). */
    private DatagramInfo datagramNow() {
        VirtualSession v = virtual;
        return v != null ? v.datagramNow : acceptor.inlineDatagram(this);
    }

    @Override
    public MemorySegment scratch() {
        return acceptor.scratch();
    }

    @Override
    public boolean post(Object message) {
        return acceptor.post(this, message);
    }

    @Override
    public void close() {
        acceptor.closeFromUser(this);
    }

    @Override
    public boolean isOpen() {
        return (boolean) OPEN.getOpaque(this);
    }

    @Override
    public boolean lastDatagramTruncated() {
        DatagramInfo d = datagramNow();
        return d != null && d.truncated();
    }

    @Override
    public long receivedBytes() {
        return (long) RECV_BYTES.getOpaque(this);
    }

    @Override
    public long receivedPackets() {
        return (long) RECV_PACKETS.getOpaque(this);
    }

    @Override
    public long sentBytes() {
        return (long) SENT_BYTES.getOpaque(this);
    }

    @Override
    public long sentPackets() {
        return (long) SENT_PACKETS.getOpaque(this);
    }

    @Override
    public String toString() {
        return "Session[" + remoteAddress() + (isOpen() ? "" : ", closed") + "]";
    }
}
