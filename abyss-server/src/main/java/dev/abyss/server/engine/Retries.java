package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.ServerConfig;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.HashMap;

/**
 * Datagrams from new peers that found the session table full, waiting for a free place:
 * retried up to maxConnectionsRetryCount times, maxConnectionsRetryWait apart, then dropped and
 * counted. While a peer has a datagram waiting, its later datagrams wait behind it, so a peer's
 * datagrams stay in order. Other peers are never held up. Owner thread only.
 */
final class Retries {
    static final int MAX_WAITING = 4096;

    private static final class Waiting {
        final PeerKey peer;
        final byte[] data;
        final boolean truncated;
        int attempts;
        long due;

        Waiting(PeerKey peer, byte[] data, boolean truncated, long due) {
            this.peer = peer;
            this.data = data;
            this.truncated = truncated;
            this.due = due;
        }
    }

    private final int maxAttempts;
    private final long waitNanos;
    private final ArrayDeque<Waiting> queue = new ArrayDeque<>();
    private final HashMap<PeerKey, Integer> waitingPerPeer = new HashMap<>();
    private final Counters counters;
    private final Acceptor acceptor;

    Retries(ServerConfig config, Counters counters, Acceptor acceptor) {
        this.maxAttempts = config.maxConnectionsRetryCount();
        this.waitNanos = config.maxConnectionsRetryWait().toNanos();
        this.counters = counters;
        this.acceptor = acceptor;
    }

    boolean isWaiting(PeerKey peer) {
        return !waitingPerPeer.isEmpty() && waitingPerPeer.containsKey(peer);
    }

    /** Queues a copy of the datagram, or drops and counts it when retries are off, the queue is full or the server stops. */
    void add(PeerKey peer, MemorySegment data, boolean truncated, long now, boolean stopping) {
        if (maxAttempts == 0 || queue.size() >= MAX_WAITING || stopping) {
            acceptor.droppedTableFull(peer, data.byteSize());
            return;
        }
        PeerKey key = peer.copy();
        queue.addLast(new Waiting(key, data.toArray(ValueLayout.JAVA_BYTE), truncated, now + waitNanos));
        waitingPerPeer.merge(key, 1, Integer::sum);
    }

    /** Milliseconds until the next retry is due, -1 when none waits. */
    int millisToNext(long now) {
        if (queue.isEmpty()) {
            return -1;
        }
        return (int) Math.max(0, (queue.peekFirst().due - now + 999_999) / 1_000_000);
    }

    /** Retries every datagram that is due: into its session if one exists or can be opened now. */
    void process(long now) {
        while (!queue.isEmpty() && queue.peekFirst().due - now <= 0) {
            Waiting w = queue.pollFirst();
            SessionImpl s = acceptor.session(w.peer);
            if (s == null && acceptor.reserveSession()) {
                s = acceptor.open(w.peer);
                if (s == null) {
                    forget(w.peer); // handleConnection ended it at once
                    continue;
                }
            }
            if (s != null) {
                deliverAll(s, w);
            } else if (++w.attempts >= maxAttempts) {
                acceptor.droppedTableFull(w.peer, w.data.length);
                forget(w.peer);
            } else {
                w.due = now + waitNanos;
                queue.addLast(w);
            }
        }
    }

    /** Delivers {@code first} and every later datagram waiting for the same peer, in arrival order. */
    private void deliverAll(SessionImpl s, Waiting first) {
        forget(first.peer);
        acceptor.deliver(s, MemorySegment.ofArray(first.data).asReadOnly(), first.truncated);
        if (!isWaiting(first.peer)) {
            return;
        }
        var it = queue.iterator();
        while (it.hasNext()) {
            Waiting w = it.next();
            if (w.peer.equals(first.peer)) {
                it.remove();
                forget(w.peer);
                if (s.isOpen()) {
                    acceptor.deliver(s, MemorySegment.ofArray(w.data).asReadOnly(), w.truncated);
                } else {
                    counters.increment(Counters.DROPPED_SESSION_ENDED);
                }
            }
        }
    }

    private void forget(PeerKey peer) {
        waitingPerPeer.computeIfPresent(peer, (k, n) -> n == 1 ? null : n - 1);
    }

    /** Drops everything waiting (at exit), each counted. */
    void clear() {
        for (Waiting w : queue) {
            acceptor.droppedTableFull(w.peer, w.data.length);
        }
        queue.clear();
        waitingPerPeer.clear();
    }
}
