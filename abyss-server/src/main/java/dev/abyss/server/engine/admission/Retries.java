package dev.abyss.server.engine.admission;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.session.SessionImpl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Datagrams from new peers that found the session table full, waiting for a free place: retried
 * up to maxConnectionsRetryCount times, maxConnectionsRetryWait apart, then dropped and counted.
 * While a peer has datagrams waiting, its later datagrams wait behind them, so a peer's datagrams
 * stay in order. Other peers are never held up. Owner thread only.
 *
 * <p>Bounded, because any remote peer can fill it: the datagrams wait in one preallocated off-heap
 * ring of {@code retryBufferBytes} (a peer's traffic never reaches the heap), at most
 * {@link #MAX_WAITING} of them; beyond either bound a datagram is dropped and counted at once.
 * Work is O(waiting datagrams): peers wait in one FIFO (every peer waits the same time), each
 * holding the chain of its own datagrams.
 *
 * <p>Public, with its constructor, {@code add} and {@code process}, for abyss-bench's
 * {@code RetriesBenchmark} (class path); the package stays unexported.
 */
public final class Retries {
    static final int MAX_WAITING = 4096;

    /** What retries need from the acceptor. */
    public interface Host {
        /** The live session of {@code peer}, or null. */
        SessionImpl session(PeerKey peer);

        /**
         * Opens a session for {@code peer} if the table has room now and hands it {@code first};
         * null when the table is still full. {@code arrivedAt}: the address the peer's first
         * datagram was sent to (wildcard binds; null otherwise), the source of the session's
         * replies. The session may have ended already (handleConnection closed it): the peer's next
         * datagram then opens another, as it would have on arrival.
         */
        SessionImpl tryOpen(PeerKey peer, PeerKey arrivedAt, MemorySegment first, boolean truncated);

        /** Hands a datagram to a session (an ended one drops and counts it). */
        void deliver(SessionImpl s, MemorySegment data, boolean truncated);

        /** Records a datagram dropped because the table stayed full. */
        void droppedTableFull(PeerKey peer, long bytes);
    }

    private static final class Waiting {
        final PeerKey peer;
        /** Where its first datagram was sent to (wildcard binds), or null: its session's replies leave from there. */
        PeerKey arrivedAt;
        int attempts;
        long due;
        /** Ring offsets of this peer's first and last record; records chain through their NEXT field. */
        int first = -1;
        int last = -1;

        Waiting(PeerKey peer, long due) {
            this.peer = peer;
            this.due = due;
        }
    }

    // record: [length int][flags int][next int][pad int] then the payload, padded to 8
    private static final int HEADER = 16;
    private static final int LENGTH = 0;
    private static final int FLAGS = 4;
    private static final int NEXT = 8;
    private static final int TRUNCATED = 1;
    private static final int FREED = 2;
    private static final int WRAP = 4; // padding to the end of the ring

    private final int maxAttempts;
    private final long waitNanos;
    private final Host host;
    private final MemorySegment ring;
    private final int capacity;
    private final ArrayDeque<Waiting> queue = new ArrayDeque<>();
    private final HashMap<PeerKey, Waiting> byPeer = new HashMap<>();
    /** Oldest record not yet reclaimed, and where the next record goes (offsets run 0..capacity). */
    private int head;
    private int tail;
    /** Bytes between head and tail, padding included. */
    private int used;
    private int waiting;

    public Retries(int maxAttempts, long waitNanos, int bufferBytes, Arena arena, Host host) {
        this.maxAttempts = maxAttempts;
        this.waitNanos = waitNanos;
        this.host = host;
        this.capacity = maxAttempts == 0 ? 0 : bufferBytes & ~7;
        this.ring = capacity == 0 ? MemorySegment.NULL : arena.allocate(capacity, 8);
    }

    boolean isWaiting(PeerKey peer) {
        return waiting != 0 && byPeer.containsKey(peer);
    }

    /** Waiting datagrams and the ring bytes they hold. */
    int waitingDatagrams() {
        return waiting;
    }

    int bytesHeld() {
        return used;
    }

    /**
     * Queues a copy of the datagram behind the peer's earlier ones, or drops and counts it when
     * retries are off, a bound is reached or the server stops.
     */
    public void add(PeerKey peer, MemorySegment data, boolean truncated, long now, boolean stopping) {
        add(peer, null, data, truncated, now, stopping);
    }

    /** {@link #add(PeerKey, MemorySegment, boolean, long, boolean)} of a datagram sent to {@code arrivedAt} (null: unknown). */
    void add(PeerKey peer, PeerKey arrivedAt, MemorySegment data, boolean truncated, long now, boolean stopping) {
        int at = stopping || waiting >= MAX_WAITING ? -1 : store(data, truncated);
        if (at < 0) {
            host.droppedTableFull(peer, data.byteSize());
            return;
        }
        Waiting w = byPeer.get(peer);
        if (w == null) {
            PeerKey key = peer.copy();
            w = new Waiting(key, now + waitNanos);
            w.arrivedAt = arrivedAt == null ? null : arrivedAt.copy();
            byPeer.put(key, w);
            queue.addLast(w);
            w.first = at;
        } else {
            ring.set(JAVA_INT, w.last + NEXT, at);
        }
        w.last = at;
        waiting++;
    }

    /** Milliseconds until the next retry is due, -1 when none waits. */
    int millisToNext(long now) {
        Waiting w = queue.peekFirst();
        return w == null ? -1 : (int) Math.max(0, (w.due - now + 999_999) / 1_000_000);
    }

    /** Retries every peer that is due: into its session if one exists or can be opened now. */
    public void process(long now) {
        Waiting w;
        while ((w = queue.peekFirst()) != null && w.due - now <= 0) {
            queue.pollFirst();
            int at = w.first;
            while (at >= 0) {
                SessionImpl s = host.session(w.peer);
                if (s != null) {
                    host.deliver(s, payload(at), truncated(at));
                } else if ((s = host.tryOpen(w.peer, w.arrivedAt, payload(at), truncated(at))) == null) {
                    break; // still full
                }
                at = release(at);
            }
            if (at < 0) {
                byPeer.remove(w.peer);
            } else if (++w.attempts >= maxAttempts) {
                dropFrom(w, at);
            } else {
                w.first = at;
                w.due = now + waitNanos;
                queue.addLast(w);
            }
        }
        reclaim();
    }

    /** Drops every record of {@code w} from {@code at} on, counted as table-full. */
    private void dropFrom(Waiting w, int at) {
        byPeer.remove(w.peer);
        while (at >= 0) {
            host.droppedTableFull(w.peer, ring.get(JAVA_INT, at + LENGTH));
            at = release(at);
        }
    }

    /** Drops everything waiting (at exit), each counted. */
    void clear() {
        Waiting w;
        while ((w = queue.pollFirst()) != null) {
            dropFrom(w, w.first);
        }
        reclaim();
    }

    // ---- the ring ------------------------------------------------------------------------------

    private static int recordSize(long payload) {
        return (int) (HEADER + ((payload + 7) & ~7L));
    }

    /** Copies the datagram into the ring; its offset, or -1 when it does not fit. */
    private int store(MemorySegment data, boolean truncated) {
        int size = recordSize(data.byteSize());
        if (size > capacity - used) {
            reclaim();
            if (size > capacity - used) {
                return -1;
            }
        }
        int at = tail;
        if (at + size > capacity) {
            int pad = capacity - at;
            if (size > capacity - used - pad) {
                return -1; // fits only across the end of the ring
            }
            if (pad >= HEADER) {
                ring.set(JAVA_INT, at + FLAGS, WRAP | FREED);
                ring.set(JAVA_INT, at + LENGTH, pad - HEADER);
            }
            used += pad;
            at = 0;
        }
        ring.set(JAVA_INT, at + LENGTH, (int) data.byteSize());
        ring.set(JAVA_INT, at + FLAGS, truncated ? TRUNCATED : 0);
        ring.set(JAVA_INT, at + NEXT, -1);
        MemorySegment.copy(data, 0, ring, at + HEADER, data.byteSize());
        tail = (at + size) % capacity;
        used += size;
        return at;
    }

    private MemorySegment payload(int at) {
        return ring.asSlice(at + HEADER, ring.get(JAVA_INT, at + LENGTH)).asReadOnly();
    }

    private boolean truncated(int at) {
        return (ring.get(JAVA_INT, at + FLAGS) & TRUNCATED) != 0;
    }

    /** Marks the record freed; returns the offset of the peer's next record, -1 at the end. */
    private int release(int at) {
        ring.set(JAVA_INT, at + FLAGS, ring.get(JAVA_INT, at + FLAGS) | FREED);
        waiting--;
        return ring.get(JAVA_INT, at + NEXT);
    }

    /** Moves the head past freed records, making their space reusable. */
    private void reclaim() {
        while (used > 0) {
            int pad = capacity - head;
            if (pad < HEADER) { // too small for a header: implicit padding
                used -= pad;
                head = 0;
                continue;
            }
            int flags = ring.get(JAVA_INT, head + FLAGS);
            if ((flags & FREED) == 0) {
                return;
            }
            int size = (flags & WRAP) != 0 ? pad : recordSize(ring.get(JAVA_INT, head + LENGTH));
            used -= size;
            head = (head + size) % capacity;
        }
        head = tail = 0; // empty: start over at the front
    }
}
