package dev.abyss.server.engine.session;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.SendResult;
import dev.abyss.server.Session;
import dev.abyss.server.transport.DatagramFacts;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * A session: one peer on one acceptor. It holds the two things it talks to directly: the
 * acceptor's {@link Outbound} path for its sends, and its {@link Driver} (whatever runs its
 * callbacks) for posts, closes, {@link #datagram()} and {@link #receive}. It never calls back into
 * the acceptor.
 *
 * <p>Who writes what:
 * <table>
 * <caption>fields by writer</caption>
 * <tr><th>fields</th><th>written by</th><th>read by</th></tr>
 * <tr><td>{@code key}, {@code arrival}, {@code outbound}, span context, open time</td><td>final</td><td>any thread</td></tr>
 * <tr><td>{@code driver}, {@code layer}</td><td>admission and the dispatcher, once, before the session is published in its table</td><td>any thread</td></tr>
 * <tr><td>{@code connected} (with a layer: handleConnection ran)</td><td>the callback thread</td><td>the callback thread</td></tr>
 * <tr><td>state, end reason, timeout, deadline ({@link #apply}, {@link #fail}, {@link #touch})</td>
 *     <td>the callback thread: the acceptor (INLINE) or the session's virtual thread</td>
 *     <td>the callback thread; the acceptor's timer wheel (INLINE only)</td></tr>
 * <tr><td>open flag and how it ended ({@link #markClosed})</td><td>whoever ends it first (CAS)</td><td>any thread</td></tr>
 * <tr><td>received and sent counters</td><td>the acceptor thread (opaque stores)</td><td>any thread (opaque loads)</td></tr>
 * <tr><td>wheel tick, idle-order links</td><td>the acceptor: {@link TimerWheel}, {@link IdleOrder}</td><td>the same</td></tr>
 * <tr><td>traffic class</td><td>{@link #setTrafficClass}, any thread (a byte: torn reads cannot happen)</td><td>the senders</td></tr>
 * <tr><td>JFR event</td><td>the acceptor thread, at open and after the end</td><td>the same</td></tr>
 * </table>
 */
public final class SessionImpl implements Session {

    /** The acceptor's send side, as a session sees it (the outbound path, with its owner-thread check inside). */
    public interface Outbound {
        /** Queues {@code length} bytes at {@code offset} to {@code s}'s peer, from any thread. */
        SendResult send(SessionImpl s, MemorySegment data, long offset, long length);

        /** Queues the remaining bytes of {@code data} to {@code s}'s peer, from any thread. */
        SendResult send(SessionImpl s, ByteBuffer data);

        /** {@link Session#sendSegments}. */
        int sendSegments(SessionImpl s, MemorySegment data, long offset, long length, int segmentSize);

        /** A datagram of {@code bytes} to {@code s}'s peer that was not tried after a refusal: counted as refused (sendSegments). */
        void countRefused(SessionImpl s, long bytes);

        /** The acceptor's scratch buffer; throws off the acceptor thread. */
        MemorySegment scratch();

        /** The address the acceptor's socket is bound to. */
        SocketAddress localAddress();
    }

    /** What runs a session's callbacks, as the session sees it: the INLINE dispatcher, or the session's own virtual thread. */
    public interface Driver {
        /** Any thread: a message for handleMessage; false when refused (full, counted) or the session ended. */
        boolean post(SessionImpl s, Object message);

        /** Any thread: {@link Session#close()}. */
        void close(SessionImpl s);

        /** The facts of the datagram {@code s} is handling now, or null outside a datagram's callback. */
        DatagramInfo datagram(SessionImpl s);

        /** {@link Session#receive}: the next datagram, or null. */
        MemorySegment receive(SessionImpl s, long timeoutNanos) throws InterruptedException;
    }

    private static final VarHandle ENDED;
    private static final VarHandle RECV_BYTES;
    private static final VarHandle RECV_PACKETS;
    private static final VarHandle SENT_BYTES;
    private static final VarHandle SENT_PACKETS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            ENDED = l.findVarHandle(SessionImpl.class, "endedBy", SessionEnd.class);
            RECV_BYTES = l.findVarHandle(SessionImpl.class, "recvBytes", long.class);
            RECV_PACKETS = l.findVarHandle(SessionImpl.class, "recvPackets", long.class);
            SENT_BYTES = l.findVarHandle(SessionImpl.class, "sentBytes", long.class);
            SENT_PACKETS = l.findVarHandle(SessionImpl.class, "sentPackets", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The peer's address, as the session table keys it. */
    public final PeerKey key;
    /**
     * The address the peer talks to, on a wildcard socket (IP_PKTINFO): replies leave from it. Null
     * when the socket is bound to one address (then that is the source).
     */
    public final PeerKey arrival;
    /** Telemetry: this session's span context and when it opened (System.nanoTime). */
    public final long spanContext;
    public final long openedAt;
    private final Outbound outbound;
    private Driver driver;
    /** The session layer (DTLS, ...) between the dispatcher and the handler, else null. */
    private SessionLayer layer;
    /** With a layer: true once handleConnection ran (the layer became ready). Written by the callback thread. */
    private volatile boolean connected;
    /** With a layer: it failed ({@link SessionLayer.Failed}): handleError runs even if handleConnection did not. */
    private boolean layerFailed;

    /** The peer as a Java address, made on first use (most sessions never need it). */
    private SocketAddress remote;

    private Object state;
    private Object endReason;
    private long timeoutNanos;
    private long deadlineNanos;
    /** Set when a result gave a new deadline; {@link #takeRescheduled()} clears it. */
    private boolean rescheduled;
    /** A byte, 0 for the socket's default: it packs beside the flags, where a short would cost every session 8 bytes. */
    private byte trafficClass;
    /** Null while open; how it ended once it has (set once, by CAS: the open flag and the cause in one field). */
    @SuppressWarnings("unused") // via ENDED
    private SessionEnd endedBy;
    private Object jfr;

    /** The timer wheel's tick this session is filed under, -1 when not filed ({@link TimerWheel}). */
    long wheelTick = -1;
    /** {@link IdleOrder}: which list this session is on and its neighbours there. */
    byte idleList;
    SessionImpl idlePrev;
    SessionImpl idleNext;

    @SuppressWarnings("unused")
    private long recvBytes;
    @SuppressWarnings("unused")
    private long recvPackets;
    @SuppressWarnings("unused")
    private long sentBytes;
    @SuppressWarnings("unused")
    private long sentPackets;

    /**
     * @param key          the peer (kept: pass a copy)
     * @param arrival      where the peer's first datagram arrived on a wildcard socket (kept), or null
     * @param outbound     the acceptor's send side
     * @param initialState the handler's state before handleConnection
     * @param timeoutNanos the idle timeout (readTimeout)
     * @param spanContext  telemetry span of this session
     * @param openedAt     System.nanoTime of its first datagram
     */
    public SessionImpl(PeerKey key, PeerKey arrival, Outbound outbound, Object initialState, long timeoutNanos,
                       long spanContext, long openedAt) {
        this.key = key;
        this.arrival = arrival;
        this.outbound = outbound;
        this.state = initialState;
        this.timeoutNanos = timeoutNanos;
        this.spanContext = spanContext;
        this.openedAt = openedAt;
    }

    // ---- the dispatcher's side -----------------------------------------------------------------

    /** Once, by the dispatcher, before the session is published in its table. */
    public void drivenBy(Driver driver) {
        this.driver = driver;
    }

    public Driver driver() {
        return driver;
    }

    /** Once, at open, before the session is published: its {@link SessionLayer}, made with {@link #sendRaw} as its wire. */
    public void layeredBy(SessionLayer.Factory layers) {
        this.layer = layers.open(new SessionLayer.Wire() {
            @Override
            public SendResult send(MemorySegment data, long offset, long length) {
                return sendRaw(data, offset, length);
            }

            @Override
            public PeerKey peer() {
                return key;
            }

            @Override
            public void validated() {
                // issue 19 (amplification limits): the lead wires Session.markValidated() here at merge
            }
        });
    }

    /** The session's layer, or null. */
    public SessionLayer layer() {
        return layer;
    }

    /** With a layer: true once handleConnection ran. */
    public boolean connected() {
        return layer == null || connected;
    }

    /** With a layer: handleConnection is about to run. */
    public void markConnected() {
        connected = true;
    }

    /**
     * Unwrap or the layer's timer threw {@code t}: how the session ends. A close_notify ends it as
     * CLOSE (handleClose when the handler saw it); a layer failure as ERROR with its cause, reported
     * to handleError even before handleConnection; anything else as any callback failure.
     */
    public SessionEnd failLayer(Throwable t) {
        if (t instanceof SessionLayer.PeerClosed) {
            return connected ? SessionEnd.CLOSE : SessionEnd.USER;
        }
        if (t instanceof SessionLayer.Failed f) {
            layerFailed = true;
            return fail(f.getCause());
        }
        return fail(t);
    }

    /** True when the terminal callback runs: the handler saw the session, or its layer failed (handleError only). */
    public boolean reportable(SessionEnd how) {
        return connected() || layerFailed && how == SessionEnd.ERROR;
    }

    /** The timer wheel's moment for this session: its idle deadline, or its layer's timer when sooner. */
    public long wakeNanos() {
        return layer == null ? deadlineNanos : Math.min(deadlineNanos, layer.timerNanos());
    }

    /** The raw outbound path, below any layer: what a layer sends through. */
    public SendResult sendRaw(MemorySegment data, long offset, long length) {
        return outbound.send(this, data, offset, length);
    }

    /** The handler's state, for the next callback. */
    public Object state() {
        return state;
    }

    /**
     * Applies a callback's {@code result}: the state always, a new deadline for a continue with a
     * timeout ({@link #takeRescheduled()} then tells).
     *
     * @return null to keep the session, else how it ends (the reason in {@link #endReason()})
     */
    public SessionEnd apply(HandlerResult<Object> result, long now) {
        switch (result) {
            case HandlerResult.Continue<Object> c -> {
                state = c.state();
                Duration timeout = c.timeout();
                if (timeout != null) {
                    long nanos = timeout.toNanos();
                    if (c.persistent()) {
                        timeoutNanos = nanos;
                    }
                    deadlineNanos = now + nanos;
                    rescheduled = true;
                }
                return null;
            }
            case HandlerResult.Close<Object> c -> {
                state = c.state();
                return SessionEnd.CLOSE;
            }
            case HandlerResult.Failure<Object> f -> {
                state = f.state();
                endReason = f.reason();
                return SessionEnd.ERROR;
            }
            case null -> {
                return fail(new NullPointerException("handler returned null instead of a HandlerResult"));
            }
        }
    }

    /** A callback threw, returned null or overran: the session ends in error with {@code reason}. */
    public SessionEnd fail(Throwable reason) {
        return endWith(SessionEnd.ERROR, reason);
    }

    /** The session ends as {@code how} with {@code reason} (handed to handleError). */
    public SessionEnd endWith(SessionEnd how, Object reason) {
        endReason = reason;
        return how;
    }

    public Object endReason() {
        return endReason;
    }

    /** Activity at {@code now}: the idle deadline moves to now + the session's timeout. */
    public void touch(long now) {
        deadlineNanos = now + timeoutNanos;
    }

    public long deadlineNanos() {
        return deadlineNanos;
    }

    /** True once after a result gave a new deadline. */
    public boolean takeRescheduled() {
        boolean r = rescheduled;
        rescheduled = false;
        return r;
    }

    /** Marks the session ended as {@code how}; true for the one caller that ended it. */
    public boolean markClosed(SessionEnd how) {
        return ENDED.compareAndSet(this, null, how);
    }

    /** How the session ended, null while open. */
    public SessionEnd endedBy() {
        return (SessionEnd) ENDED.getAcquire(this);
    }

    /** Owner thread: a plain read of the open flag. */
    public boolean isOpenLocal() {
        return ENDED.get(this) == null;
    }

    public void countReceived(int bytes) {
        RECV_BYTES.setOpaque(this, (long) RECV_BYTES.get(this) + bytes);
        RECV_PACKETS.setOpaque(this, (long) RECV_PACKETS.get(this) + 1);
    }

    public void countSent(int bytes) {
        SENT_BYTES.setOpaque(this, (long) SENT_BYTES.get(this) + bytes);
        SENT_PACKETS.setOpaque(this, (long) SENT_PACKETS.get(this) + 1);
    }

    /** The JFR event kept for this session while a recording wants it, else null (acceptor thread). */
    public Object jfr() {
        return jfr;
    }

    public void jfr(Object event) {
        jfr = event;
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
            return outbound.localAddress();
        }
        return arrival.toSocketAddress(); // made on each call: not kept per session (heap is what a million sessions cost)
    }

    @Override
    public SendResult send(MemorySegment data, long offset, long length) {
        return layer == null ? outbound.send(this, data, offset, length) : layer.wrap(data, offset, length);
    }

    @Override
    public SendResult send(ByteBuffer data) {
        if (layer == null) {
            return outbound.send(this, data);
        }
        MemorySegment all = MemorySegment.ofBuffer(data); // a layered send is copied by its layer anyway
        return layer.wrap(all, 0, all.byteSize());
    }

    @Override
    public int sendSegments(MemorySegment data, long offset, long length, int segmentSize) {
        if (layer == null) {
            return outbound.sendSegments(this, data, offset, length, segmentSize);
        }
        java.util.Objects.checkFromIndexSize(offset, length, data.byteSize());
        if (segmentSize < 1) {
            throw new IllegalArgumentException("segmentSize must be at least 1, was " + segmentSize);
        }
        checkPayload(key, segmentSize, "segmentSize");
        int sent = 0;
        long at = 0;
        SendResult last = SendResult.OK;
        for (; at < length; at += segmentSize, sent++) { // each segment its own record: no coalescing through a layer
            last = send(data, offset + at, Math.min(segmentSize, length - at));
            if (last != SendResult.OK) {
                break;
            }
        }
        if (last == SendResult.FULL) {
            for (at += segmentSize; at < length; at += segmentSize) { // not tried: after a refusal they would leave a gap
                outbound.countRefused(this, Math.min(segmentSize, length - at));
            }
        }
        return sent;
    }

    @Override
    public void setTrafficClass(int trafficClass) {
        this.trafficClass = (byte) Math.max(0, checkTrafficClass(trafficClass));
    }

    @Override
    public int trafficClass() {
        return trafficClass == 0 ? -1 : trafficClass & 0xFF;
    }

    /** {@return the largest payload a send to {@code to} takes: {@link #MAX_PAYLOAD_IPV4} to an IPv4 or v4-mapped peer, else {@link #MAX_PAYLOAD_IPV6}} */
    public static int maxPayload(PeerKey to) {
        return to.family() == dev.abyss.ffi.net.Net.AF_INET || to.isV4Mapped() ? MAX_PAYLOAD_IPV4 : MAX_PAYLOAD_IPV6;
    }

    /** {@code length} bytes to {@code to}: returned as an int, else IllegalArgumentException naming the size and the limit. */
    public static int checkPayload(PeerKey to, long length, String what) {
        if (length <= MAX_PAYLOAD_IPV4) {
            return (int) length; // fits every family: no need to look at the peer (the common case, every send)
        }
        int max = maxPayload(to);
        if (length > max) {
            throw new IllegalArgumentException(what + " of " + length + " bytes is larger than one UDP datagram to " + to
                    + " carries (" + max + " at most)");
        }
        return (int) length;
    }

    /** A TOS / traffic class byte, or -1 for the socket's; else IllegalArgumentException naming it. */
    public static int checkTrafficClass(int trafficClass) {
        if (trafficClass < -1 || trafficClass > 255) {
            throw new IllegalArgumentException("trafficClass must be 0..255 or -1, was " + trafficClass);
        }
        return trafficClass;
    }

    @Override
    public DatagramInfo datagram() {
        DatagramInfo d = driver.datagram(this);
        return d != null ? d : DatagramFacts.NONE;
    }

    @Override
    public MemorySegment scratch() {
        return outbound.scratch();
    }

    @Override
    public boolean post(Object message) {
        return driver.post(this, message);
    }

    @Override
    public MemorySegment receive(Duration timeout) throws InterruptedException {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        return driver.receive(this, timeout.toNanos());
    }

    @Override
    public void close() {
        driver.close(this);
    }

    @Override
    public java.util.Optional<dev.abyss.server.Negotiated> negotiated() {
        return layer == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(layer.negotiated());
    }

    @Override
    public boolean isOpen() {
        return ENDED.getOpaque(this) == null;
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
