package dev.abyss.server.engine;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.telemetry.EventKind;
import dev.abyss.server.transport.Transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The send side of one acceptor: sends from its own thread go straight into the transport's
 * sendmmsg batch; sends from any other thread through the off-heap {@link SendQueue}, drained into
 * the batch by the acceptor. Told by the transport what the kernel took or refused, it keeps the
 * server and per-session counters, telemetry and JFR drops.
 */
final class Outbox implements Transport.SendSink, SendQueue.Consumer {
    private static final int DRAIN_ROUNDS = 8;

    /** Sends refused by a full queue, counted by the sending threads. */
    final AtomicLong foreignQueueFull = new AtomicLong();

    private final Acceptor acceptor;
    private Transport transport;
    private final Counters counters;
    private final SessionTable sessions;
    private final SendQueue queue;
    private final PeerKey peer = new PeerKey();
    private boolean more;

    Outbox(Acceptor acceptor, Counters counters, SessionTable sessions, Arena arena, int queueBytes) {
        this.acceptor = acceptor;
        this.counters = counters;
        this.sessions = sessions;
        this.queue = new SendQueue(arena, queueBytes);
    }

    /** The transport this outbox feeds (opened with this outbox as its send sink). */
    void bind(Transport transport) {
        this.transport = transport;
    }

    /** {@link dev.abyss.server.Session#send}: any thread. */
    boolean send(SessionImpl s, MemorySegment data, long offset, long length) {
        if (length > ServerConfig.MAX_UDP_PAYLOAD) {
            throw new IllegalArgumentException("datagram of " + length + " bytes is larger than UDP allows ("
                    + ServerConfig.MAX_UDP_PAYLOAD + " at most)");
        }
        if (!s.isOpen()) {
            return false;
        }
        if (acceptor.isOwnerThread()) {
            if (!transport.send(s, s.key, s.arrival, s.trafficClass(), data, offset, (int) length)) {
                refused(s.key, length);
                return false;
            }
            return true;
        }
        try {
            if (!queue.offer(s.key, s.trafficClass(), data, offset, (int) length)) {
                refused(s.key, length);
                return false;
            }
        } catch (IllegalStateException closedMeanwhile) {
            return false; // the acceptor exited between the isOpen check and the copy
        }
        transport.wakeup();
        return true;
    }

    /**
     * A datagram to {@code peer} without a session (stateless replies, {@code Server.send}): any
     * thread; counted in the server's totals only.
     */
    boolean sendTo(PeerKey peer, MemorySegment data, long offset, long length) {
        return sendTo(peer, null, -1, data, offset, length);
    }

    /**
     * {@link #sendTo(PeerKey, MemorySegment, long, long)} from {@code from} with {@code trafficClass}
     * (owner thread: a stateless reply; -1 for the socket's).
     */
    boolean sendTo(PeerKey peer, PeerKey from, int trafficClass, MemorySegment data, long offset, long length) {
        if (length > ServerConfig.MAX_UDP_PAYLOAD) {
            throw new IllegalArgumentException("datagram of " + length + " bytes is larger than UDP allows ("
                    + ServerConfig.MAX_UDP_PAYLOAD + " at most)");
        }
        if (acceptor.isOwnerThread()) {
            if (!transport.send(null, peer, from, trafficClass, data, offset, (int) length)) {
                refused(peer, length);
                return false;
            }
            return true;
        }
        try {
            if (!queue.offer(peer, trafficClass, data, offset, (int) length)) {
                refused(peer, length);
                return false;
            }
        } catch (IllegalStateException closedMeanwhile) {
            return false; // the acceptor has exited
        }
        transport.wakeup();
        return true;
    }

    /**
     * {@link dev.abyss.server.Session#sendSegments} ({@code s} given) and
     * {@link dev.abyss.server.Peer#sendSegments} ({@code s} null: to {@code peer} from {@code from}):
     * queues consecutive datagrams until one is refused; that one and every later one are counted as
     * refused sends, so what went out is always a prefix. Returns the datagrams queued.
     */
    int sendSegments(SessionImpl s, PeerKey peer, PeerKey from, int trafficClass, MemorySegment data, long offset, long length,
                     int segmentSize) {
        java.util.Objects.checkFromIndexSize(offset, length, data.byteSize());
        checkSegmentSize(segmentSize);
        int queued = 0;
        long at = 0;
        for (; at < length; at += segmentSize) {
            long part = Math.min(segmentSize, length - at);
            // consecutive equal datagrams to one peer: the transport coalesces them (GSO)
            boolean ok = s != null ? send(s, data, offset + at, part) : sendTo(peer, from, trafficClass, data, offset + at, part);
            if (!ok) {
                break;
            }
            queued++;
        }
        if (s != null && !s.isOpen()) {
            return queued; // ended: nothing more to count
        }
        for (at += segmentSize; at < length; at += segmentSize) { // not tried: after a refusal they would leave a gap
            refused(s != null ? s.key : peer, Math.min(segmentSize, length - at));
        }
        return queued;
    }

    /** Counts a datagram that could not be queued, on whichever thread refused it. */
    private void refused(PeerKey peer, long bytes) {
        if (acceptor.isOwnerThread()) {
            acceptor.drop(Drop.SEND_QUEUE_FULL, peer, bytes);
        } else {
            foreignQueueFull.incrementAndGet();
            JfrEvents.drop(Drop.SEND_QUEUE_FULL.cause, peer, bytes);
        }
    }

    /** Moves queued sends into the transport's batch (owner thread). */
    void drain() {
        more = false;
        for (int round = 0; round < DRAIN_ROUNDS; round++) {
            int room = transport.sendRoom();
            if (room == 0) {
                return; // the kernel is full: EPOLLOUT wakes the acceptor
            }
            if (queue.drain(this, room) < room) {
                return;
            }
        }
        more = true; // stopped at the round limit: the next wait must not block
    }

    /** True when the last {@link #drain()} left datagrams in the queue. */
    boolean more() {
        return more;
    }

    boolean queueEmpty() {
        return queue.isEmpty();
    }

    @Override
    public void onSend(MemorySegment ring, long nameAt, int nameLength, int trafficClass, long dataAt, int dataLength) {
        if (!peer.readFrom(ring, nameAt, nameLength)) {
            counters.increment(Counters.SEND_ERRORS); // cannot happen: the queue holds what PeerKey wrote
            return;
        }
        // the session may have ended since: the datagram still goes out, unattributed
        SessionImpl s = sessions.get(peer);
        transport.send(s, peer, s == null ? null : s.arrival, trafficClass, ring, dataAt, dataLength);
    }

    @Override
    public void coalesced(int segments) {
        counters.increment(Counters.GSO_SENDS);
        counters.add(Counters.GSO_SEGMENTS, segments);
    }

    /** {@link dev.abyss.server.Session#sendSegments}'s segment size: 1..the largest UDP payload. */
    static void checkSegmentSize(int segmentSize) {
        if (segmentSize < 1 || segmentSize > ServerConfig.MAX_UDP_PAYLOAD) {
            throw new IllegalArgumentException("segmentSize must be 1.." + ServerConfig.MAX_UDP_PAYLOAD + ", was " + segmentSize);
        }
    }

    /** A TOS / traffic class byte, or -1 for the socket's. */
    static int checkTrafficClass(int trafficClass) {
        if (trafficClass < -1 || trafficClass > 255) {
            throw new IllegalArgumentException("trafficClass must be 0..255 or -1, was " + trafficClass);
        }
        return trafficClass;
    }

    @Override
    public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
        SessionImpl s = (SessionImpl) tag;
        counters.increment(Counters.DATAGRAMS_OUT);
        counters.add(Counters.BYTES_OUT, bytes);
        if (s != null) {
            s.countSent(bytes);
        }
        if (EventKind.CONNECTION_SEND.enabled()) {
            Spans.send(s != null ? s.spanContext : acceptor.spanContext, buffer, offset, bytes);
        }
    }

    @Override
    public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
        SessionImpl s = (SessionImpl) tag;
        Spans.sendError(s != null ? s.spanContext : acceptor.spanContext, buffer, offset, bytes, errno);
        acceptor.drop(Drop.SEND_ERROR, s == null ? null : s.key, bytes, Errno.name(errno));
    }
}
