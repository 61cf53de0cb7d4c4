package dev.abyss.server.engine.outbound;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.Peer;
import dev.abyss.server.RateLimitVerdict;
import dev.abyss.server.SendResult;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionTable;
import dev.abyss.server.engine.telemetry.Drop;
import dev.abyss.server.engine.telemetry.Drops;
import dev.abyss.server.transport.Transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The one outbound path of an acceptor, shared by everything that sends: sessions, the stateless
 * {@link dev.abyss.server.Peer}, {@code Server.send}. A send on the acceptor's own thread goes
 * straight into the transport's batch; from any other thread through the off-heap
 * {@link SendQueue}, which the acceptor drains into the batch each turn ({@link #drain}). The owner
 * check is here, so callers never ask. What the kernel then does with each datagram comes back
 * later, at the end of the turn, to {@link SendResults}.
 *
 * <p>When the server limits replies ({@link ReplyLimits}: a rate per source prefix, an
 * amplification budget for peers not validated), each datagram is checked as it enters the
 * transport on the owner thread (from another thread: when {@link #drain} takes it); one held back
 * is counted by cause ({@link Drop#RATE_LIMITED}, {@link Drop#AMPLIFICATION_LIMITED}) and the
 * sender on the owner thread sees {@link SendResult#LIMITED}.
 */
public final class Outbox implements SessionImpl.Outbound, SendQueue.Consumer {
    private static final int DRAIN_ROUNDS = 8;
    private static final int SCRATCH_BYTES = 65_536;

    private final Transport transport;
    private final SessionTable sessions;
    private final Drops drops;
    private final SendQueue queue;
    /** For handlers to build replies in ({@link Peer#scratch()}). */
    private final MemorySegment scratch;
    /** Where ByteBuffer sends are copied through on the owner thread (not the scratch: handlers send from it). */
    private final MemorySegment staging;
    private final ByteBuffer stagingView;
    private final PeerKey queued = new PeerKey();
    private final PeerKey queuedFrom = new PeerKey();
    /** The reply limits (rate, amplification), or null when none is configured: one null check per send. */
    private final ReplyLimits limits;
    private volatile Thread owner;
    private boolean more;

    /**
     * @param transport  where the datagrams go (opened with this acceptor's {@link SendResults})
     * @param sessions   the acceptor's sessions, to attribute datagrams queued by other threads
     * @param drops      where refused sends are counted
     * @param arena      the acceptor's memory
     * @param queueBytes the cross-thread queue's size
     * @param limits     the reply limits, checked as each datagram enters the transport, or null for none
     */
    public Outbox(Transport transport, SessionTable sessions, Drops drops, Arena arena, int queueBytes, ReplyLimits limits) {
        this.limits = limits;
        this.transport = transport;
        this.sessions = sessions;
        this.drops = drops;
        this.queue = new SendQueue(arena, queueBytes);
        this.scratch = arena.allocate(SCRATCH_BYTES, 64);
        this.staging = arena.allocate(SCRATCH_BYTES, 64);
        this.stagingView = staging.asByteBuffer();
    }

    /** The acceptor thread, once it runs: sends from it skip the queue. */
    public void ownedBy(Thread thread) {
        owner = thread;
    }

    /** Any thread: true on the acceptor's own thread. */
    public boolean onOwnerThread() {
        return Thread.currentThread() == owner;
    }

    // ---- sessions ------------------------------------------------------------------------------

    @Override
    public SendResult send(SessionImpl s, MemorySegment data, long offset, long length) {
        checkRange(s.key, data, offset, length);
        if (!s.isOpen()) {
            return SendResult.CLOSED;
        }
        return queue(s, s.key, s.arrival, s.trafficClass(), data, offset, (int) length);
    }

    @Override
    public SendResult send(SessionImpl s, ByteBuffer data) {
        if (!s.isOpen()) {
            SessionImpl.checkPayload(s.key, data.remaining(), "a datagram");
            return SendResult.CLOSED;
        }
        return sendBuffer(s, s.key, s.arrival, s.trafficClass(), data);
    }

    @Override
    public int sendSegments(SessionImpl s, MemorySegment data, long offset, long length, int segmentSize) {
        return segments(s, s.key, s.arrival, s.trafficClass(), data, offset, length, segmentSize);
    }

    @Override
    public void countRefused(SessionImpl s, long bytes) {
        refused(s.key, bytes);
    }

    @Override
    public void countLimited(SessionImpl s, long bytes) {
        drops.drop(limits.lastRefusal(), s.key, bytes); // LIMITED is only ever returned on the owner thread, with limits
    }

    @Override
    public MemorySegment scratch() {
        if (!onOwnerThread()) {
            throw new IllegalStateException("scratch() is the acceptor's buffer: use it in a callback on the acceptor thread, not from "
                    + Thread.currentThread());
        }
        return scratch;
    }

    @Override
    public SocketAddress localAddress() {
        return transport.localAddress();
    }

    @Override
    public RateLimitVerdict rateLimit(SessionImpl s) {
        return limits == null ? RateLimitVerdict.UNDER : limits.verdict(s, s.key, s.validated());
    }

    @Override
    public boolean overRateLimit(SessionImpl s) {
        return limits != null && limits.over(s.key, s.validated());
    }

    /** {@return the reply limits, or null when none is configured} */
    public ReplyLimits limits() {
        return limits;
    }

    // ---- peers without a session ---------------------------------------------------------------

    /**
     * A datagram to {@code peer} without a session (stateless replies, {@code Server.send}), from
     * {@code from} (null: the route's source) with {@code trafficClass} (-1: the socket's); any thread.
     */
    public SendResult sendTo(PeerKey peer, PeerKey from, int trafficClass, MemorySegment data, long offset, long length) {
        checkRange(peer, data, offset, length);
        return queue(null, peer, from, trafficClass, data, offset, (int) length);
    }

    /** {@link #sendTo(PeerKey, PeerKey, int, MemorySegment, long, long)} of a buffer's remaining bytes. */
    public SendResult sendTo(PeerKey peer, PeerKey from, int trafficClass, ByteBuffer data) {
        return sendBuffer(null, peer, from, trafficClass, data);
    }

    /** {@link Peer#sendSegments} for a peer without a session. */
    public int sendSegmentsTo(PeerKey peer, PeerKey from, int trafficClass, MemorySegment data, long offset, long length,
                              int segmentSize) {
        return segments(null, peer, from, trafficClass, data, offset, length, segmentSize);
    }

    // ---- the one way in ------------------------------------------------------------------------

    /** Staged through a reused buffer on the owner thread (no segment per call), wrapped elsewhere. */
    private SendResult sendBuffer(SessionImpl s, PeerKey to, PeerKey from, int trafficClass, ByteBuffer data) {
        int length = SessionImpl.checkPayload(to, data.remaining(), "a datagram");
        if (onOwnerThread()) {
            stagingView.put(0, data, data.position(), length);
            return queue(s, to, from, trafficClass, staging, 0, length);
        }
        return queue(s, to, from, trafficClass, MemorySegment.ofBuffer(data), 0, length);
    }

    /**
     * Queues one datagram, tagged with its session (null: none): into the transport's batch on the
     * owner thread, else into the cross-thread queue with a wake-up. A refusal is counted here,
     * under the queue that refused it ({@link #refused}).
     */
    private SendResult queue(SessionImpl s, PeerKey to, PeerKey from, int trafficClass, MemorySegment data, long offset,
                             int length) {
        if (onOwnerThread()) {
            if (limits != null && limited(s, to, length)) {
                return SendResult.LIMITED;
            }
            if (transport.send(s, to, from, trafficClass, data, offset, length)) {
                if (s != null) {
                    s.recordSent(data, offset, length); // what a true ICMP error about the peer will quote
                }
                return SendResult.OK;
            }
            refused(to, length);
            return SendResult.FULL;
        }
        try {
            if (!queue.offer(to, from, trafficClass, data, offset, length)) {
                refused(to, length);
                return SendResult.FULL;
            }
        } catch (IllegalStateException e) {
            if (queue.isClosed()) {
                return SendResult.CLOSED; // the acceptor exited and freed the queue
            }
            throw e; // the caller's segment was closed: its mistake, not a closed server
        }
        transport.wakeup();
        return SendResult.OK;
    }

    /**
     * Queues consecutive datagrams until one is refused; that one and every later one are counted as
     * refused sends, so what went out is always a prefix (consecutive equal datagrams to one peer:
     * the transport may coalesce them, GSO). Returns the datagrams queued.
     */
    private int segments(SessionImpl s, PeerKey to, PeerKey from, int trafficClass, MemorySegment data, long offset,
                         long length, int segmentSize) {
        Objects.checkFromIndexSize(offset, length, data.byteSize());
        if (segmentSize < 1) {
            throw new IllegalArgumentException("segmentSize must be at least 1, was " + segmentSize);
        }
        SessionImpl.checkPayload(to, segmentSize, "segmentSize");
        if (s != null && !s.isOpen()) {
            return 0;
        }
        int queued = 0;
        long at = 0;
        SendResult last = SendResult.OK;
        for (; at < length; at += segmentSize) {
            last = queue(s, to, from, trafficClass, data, offset + at, (int) Math.min(segmentSize, length - at));
            if (last != SendResult.OK) {
                break;
            }
            queued++;
        }
        if (last == SendResult.FULL) {
            for (at += segmentSize; at < length; at += segmentSize) { // not tried: after a refusal they would leave a gap
                refused(to, Math.min(segmentSize, length - at));
            }
        } else if (last == SendResult.LIMITED) {
            Drop why = limits.lastRefusal();
            for (at += segmentSize; at < length; at += segmentSize) { // held back with the one before them
                drops.drop(why, to, Math.min(segmentSize, length - at));
            }
        }
        return queued;
    }

    /**
     * Owner thread: true when the reply limits hold this datagram back; it is then counted, by
     * cause, through the one drop path.
     */
    private boolean limited(SessionImpl s, PeerKey to, int length) {
        Drop why = limits.check(s, to, length);
        if (why == null) {
            return false;
        }
        drops.drop(why, to, length);
        return true;
    }

    /**
     * Counts a send refused for want of room, by the queue that refused it: on the owner thread the
     * transport's batch and the socket's send buffer ({@link Drop#SEND_BATCH_FULL}), elsewhere the
     * cross-thread send queue ({@link Drop#SEND_QUEUE_FULL}, counted from the sending thread).
     */
    private void refused(PeerKey to, long length) {
        if (onOwnerThread()) {
            drops.drop(Drop.SEND_BATCH_FULL, to, length);
        } else {
            drops.dropFromAnyThread(Drop.SEND_QUEUE_FULL, to, length);
        }
    }

    private static void checkRange(PeerKey to, MemorySegment data, long offset, long length) {
        Objects.checkFromIndexSize(offset, length, data.byteSize());
        SessionImpl.checkPayload(to, length, "a datagram");
    }

    // ---- the acceptor's turn -------------------------------------------------------------------

    /** Owner thread: moves datagrams queued by other threads into the transport's batch. */
    public void drain() {
        more = false;
        for (int round = 0; round < DRAIN_ROUNDS; round++) {
            int room = transport.sendRoom();
            if (room == 0) {
                return; // the kernel is full: the transport wakes the acceptor when it has room
            }
            if (queue.drain(this, room) < room) {
                return;
            }
        }
        more = true; // stopped at the round limit: the next wait must not block
    }

    /** True when the last {@link #drain()} left datagrams in the queue. */
    public boolean more() {
        return more;
    }

    public boolean queueEmpty() {
        return queue.isEmpty();
    }

    @Override
    public void onSend(MemorySegment ring, long nameAt, int nameLength, long fromAt, int fromLength, int trafficClass, long dataAt,
                       int dataLength) {
        if (!queued.readFrom(ring, nameAt, nameLength) || fromLength > 0 && !queuedFrom.readFrom(ring, fromAt, fromLength)) {
            drops.drop(Drop.SEND_ERROR, null, dataLength, "unreadable queued address"); // cannot happen: the queue holds what PeerKey wrote
            return;
        }
        // the session may have ended since: the datagram still goes out, from the source it was sent
        // with (taken when it was queued), unattributed
        SessionImpl s = sessions.get(queued);
        PeerKey from = fromLength > 0 ? queuedFrom : s != null ? s.arrival : null;
        if (limits != null && limited(s, queued, dataLength)) {
            return;
        }
        if (!transport.send(s, queued, from, trafficClass, ring, dataAt, dataLength)) {
            drops.drop(Drop.SEND_BATCH_FULL, queued, dataLength); // the room was asked for: cannot happen
        } else if (s != null) {
            s.recordSent(ring, dataAt, dataLength);
        }
    }
}
