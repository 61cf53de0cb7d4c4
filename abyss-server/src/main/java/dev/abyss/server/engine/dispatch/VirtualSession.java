package dev.abyss.server.engine.dispatch;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.engine.telemetry.Drop;
import dev.abyss.server.engine.telemetry.Drops;
import dev.abyss.server.engine.telemetry.Spans;
import dev.abyss.server.transport.DatagramFacts;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * VIRTUAL_THREADS dispatch of one session: a bounded mailbox filled by the acceptor (datagrams,
 * copied) and by any thread (posted messages, close, shutdown), drained by the session's own
 * virtual thread, which runs every callback of the session and its idle timeout. The handler may
 * block; only this session waits.
 *
 * <p>When the session ends the mailbox closes under its lock, so an offer either lands before the
 * close (and is counted as dropped if never handled) or sees {@link Offer#CLOSED} and the acceptor
 * opens a new session for the datagram: nothing vanishes between the two.
 */
final class VirtualSession implements Runnable, SessionImpl.Driver {
    enum Offer { OK, FULL, CLOSED }

    /**
     * A datagram and its facts (a copy: the transport's view is rewritten by the next datagram).
     * {@code destination}: null when unknown, {@link #SESSION_ADDRESS} when it is the address the
     * session's peer talks to (the usual case: no copy), else a copy.
     */
    private record Data(byte[] bytes, SessionImpl session, PeerKey destinationKey, int interfaceIndex, int trafficClass,
                        long timestampNanos, int segmentSize, boolean truncated) implements DatagramInfo {
        @Override
        public java.net.SocketAddress destination() {
            if (destinationKey == null) {
                return null;
            }
            return destinationKey == SESSION_ADDRESS ? session.localAddress() : destinationKey.toSocketAddress();
        }
    }

    /** Marks a datagram sent to the address its session's peer talks to. */
    private static final PeerKey SESSION_ADDRESS = new PeerKey();

    private record Message(Object message) {
    }

    /** Ends the session as unreachable: handleError(reason). */
    private record Unreachable(Object reason) {
    }

    private enum Control { CLOSE, SHUTDOWN, EVICT }

    private final SessionImpl session;
    private final Callbacks callbacks;
    private final Inbox inbox;
    private final Drops drops;
    private final int capacity;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private final ArrayDeque<Object> queue = new ArrayDeque<>();
    private int bounded; // data and messages in the queue: what the capacity limits
    private boolean closed;
    /** True while the session's thread waits on an empty mailbox (no callback runs). */
    private boolean waiting;
    private boolean shutdownQueued;
    /** An unreachable end is queued: a flood of ICMP reports about the peer queues it once. */
    private boolean unreachableQueued;
    /** Datagrams and messages dropped from the mailbox by {@link #shutdownNow()}. */
    private int skipped;
    private volatile Thread thread;
    /** The datagram being handled, for {@link SessionImpl#datagram()} (the session's thread only). */
    private DatagramInfo datagramNow;

    VirtualSession(SessionImpl session, Callbacks callbacks, Inbox inbox, Drops drops, int capacity) {
        this.session = session;
        this.callbacks = callbacks;
        this.inbox = inbox;
        this.drops = drops;
        this.capacity = capacity;
    }

    void start(String name) {
        Thread t = Thread.ofVirtual().name(name).unstarted(this);
        thread = t; // before it runs: its own callbacks check it (receive)
        t.start();
    }

    /** A datagram for the session (copied here: the receive buffer is reused). */
    Offer offerData(MemorySegment data, DatagramInfo info) {
        PeerKey destination = null;
        if (info instanceof DatagramFacts facts && facts.destinationKey() != null) {
            PeerKey d = facts.destinationKey();
            destination = d.equals(session.arrival) ? SESSION_ADDRESS : d.copy(); // another of the host's addresses: rare
        }
        return offer(new Data(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), session, destination, info.interfaceIndex(),
                info.trafficClass(), info.timestampNanos(), info.segmentSize(), info.truncated()), true);
    }

    Offer offerMessage(Object message) {
        return offer(new Message(message), true);
    }

    /** Asks the session to end without a terminal callback ({@link dev.abyss.server.Session#close()}). */
    void offerClose() {
        offer(Control.CLOSE, false);
    }

    /** Asks the session to end as evicted (handleTimeout), to make room in a full table. */
    void offerEviction() {
        offer(Control.EVICT, false);
    }

    /** Asks the session to end with handleError({@code reason}). */
    void offerUnreachable(Object reason) {
        lock.lock();
        try {
            if (unreachableQueued) {
                return; // the first report ends the session; more add nothing (a peer may forge them at will)
            }
            unreachableQueued = true;
        } finally {
            lock.unlock();
        }
        offer(new Unreachable(reason), false);
    }

    /** Asks the session to run handleShutdown and end (once). */
    void offerShutdown() {
        lock.lock();
        try {
            if (shutdownQueued) {
                return;
            }
            shutdownQueued = true;
        } finally {
            lock.unlock();
        }
        offer(Control.SHUTDOWN, false);
    }

    /**
     * The stop deadline has come: handleShutdown goes to the front of the mailbox, ahead of any
     * backlog, and the datagrams and messages it skips are dropped (counted as session-ended when
     * the session ends), so a long backlog cannot hold the stop past its deadline.
     */
    void shutdownNow() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            java.util.Iterator<Object> it = queue.iterator();
            while (it.hasNext()) {
                Object e = it.next();
                if (!(e instanceof Control) && !(e instanceof Unreachable)) {
                    it.remove();
                    bounded--;
                    skipped++;
                }
            }
            if (!shutdownQueued || !queue.contains(Control.SHUTDOWN)) {
                shutdownQueued = true;
                queue.remove(Control.SHUTDOWN);
                queue.addFirst(Control.SHUTDOWN);
                ready.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** {@link #offerShutdown()} when the session has no work in flight: no callback runs, nothing waits for it. */
    void offerShutdownIfIdle() {
        lock.lock();
        try {
            if (!waiting || !queue.isEmpty()) {
                return;
            }
        } finally {
            lock.unlock();
        }
        offerShutdown();
    }

    /** Interrupts a handler that blocks past the shutdown grace. */
    void interrupt() {
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }

    private Offer offer(Object event, boolean limited) {
        lock.lock();
        try {
            if (closed) {
                return Offer.CLOSED;
            }
            if (limited) {
                if (bounded >= capacity) {
                    return Offer.FULL;
                }
                bounded++;
            }
            queue.addLast(event);
            ready.signal();
            return Offer.OK;
        } finally {
            lock.unlock();
        }
    }

    // ---- SessionImpl.Driver: what the session asks ----------------------------------------------

    @Override
    public boolean post(SessionImpl s, Object message) {
        if (!s.isOpen()) {
            return false;
        }
        return switch (offerMessage(message)) {
            case OK -> true;
            case FULL -> {
                drops.dropFromAnyThread(Drop.POST_QUEUE_FULL, s.key, 0);
                yield false;
            }
            case CLOSED -> false;
        };
    }

    @Override
    public void close(SessionImpl s) {
        offerClose();
    }

    @Override
    public DatagramInfo datagram(SessionImpl s) {
        return datagramNow;
    }

    /**
     * {@link dev.abyss.server.Session#receive}: the first datagram in the mailbox (messages before it
     * stay where they are), waiting up to {@code timeoutNanos}; null at the timeout or when an end
     * (close, shutdown, eviction, unreachable) is queued before any datagram.
     */
    @Override
    public MemorySegment receive(SessionImpl s, long timeoutNanos) throws InterruptedException {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("Session.receive is for the session's own callbacks, on its virtual thread; called from "
                    + Thread.currentThread());
        }
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            Data got = nextData(deadline);
            if (got == null) {
                return null;
            }
            MemorySegment data = MemorySegment.ofArray(got.bytes()).asReadOnly();
            if (s.layer() != null && (data = s.layer().unwrap(data)) == null) {
                continue; // the layer kept it: wait on for the next one
            }
            Spans.recv(dev.abyss.server.telemetry.EventKind.CONNECTION_ASYNC_RECV, s, data);
            return data;
        }
    }

    /** The first datagram in the mailbox, waiting until {@code deadline}; null at the deadline or when an end is queued first. */
    private Data nextData(long deadline) throws InterruptedException {
        Data got = null;
        lock.lock();
        try {
            while (got == null) {
                for (java.util.Iterator<Object> it = queue.iterator(); it.hasNext(); ) {
                    Object e = it.next();
                    if (e instanceof Control || e instanceof Unreachable) {
                        return null; // the session is asked to end: that happens when the callback returns
                    }
                    if (e instanceof Data d) {
                        it.remove();
                        bounded--;
                        got = d;
                        break;
                    }
                }
                if (got == null) {
                    long wait = deadline - System.nanoTime();
                    if (wait <= 0) {
                        return null;
                    }
                    ready.awaitNanos(wait);
                }
            }
        } finally {
            lock.unlock();
        }
        return got;
    }

    /** The next event, or null when {@code deadlineNanos} passed first. */
    private Object take(long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty()) {
                long wait = deadlineNanos - System.nanoTime();
                if (wait <= 0) {
                    return null;
                }
                waiting = true;
                try {
                    ready.awaitNanos(wait);
                } finally {
                    waiting = false;
                }
            }
            Object e = queue.pollFirst();
            if (!(e instanceof Control) && !(e instanceof Unreachable)) {
                bounded--;
            }
            return e;
        } finally {
            lock.unlock();
        }
    }

    /** Closes the mailbox; returns how many datagrams and messages in it were never handled. */
    private int closeMailbox() {
        lock.lock();
        try {
            closed = true;
            int left = bounded + skipped;
            queue.clear();
            return left;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void run() {
        SessionImpl s = session;
        SessionEnd how;
        try {
            s.takeRescheduled();
            if (s.layer() == null) {
                Data first;
                lock.lock();
                try {
                    first = queue.peekFirst() instanceof Data d ? d : null; // handleConnection sees the first datagram's facts
                } finally {
                    lock.unlock();
                }
                how = connect(s, first);
            } else {
                how = null; // the layer gets ready first (a handshake): handleConnection waits for it
                s.touch(System.nanoTime());
            }
            while (how == null) {
                Object event = take(s.wakeNanos());
                how = event == null && s.layer() != null ? layerTimer(s) : handle(s, event);
            }
        } catch (Throwable t) {
            how = s.failLayer(t); // a layer's close_notify or failure, else as any callback failure
        }
        // the acceptor learns of the end through its inbox, with what the mailbox still held
        callbacks.end(s, how, (ended, h) -> inbox.ended(ended, h, closeMailbox()));
    }

    /** Nothing came by the session's wake time: its layer's timer when due (a throw ends it), else its idle timeout. */
    private static SessionEnd layerTimer(SessionImpl s) {
        long now = System.nanoTime();
        if (s.layer().timerNanos() <= now) {
            s.layer().onTimer(now);
        }
        return s.deadlineNanos() <= now ? SessionEnd.TIMEOUT : null;
    }

    /** handleConnection, seeing {@code facts} (the opening datagram's, or null); null when the session goes on. */
    private SessionEnd connect(SessionImpl s, DatagramInfo facts) {
        SessionEnd how;
        datagramNow = facts;
        try {
            how = s.apply(callbacks.handler().handleConnection(s, s.state()), System.nanoTime());
        } finally {
            datagramNow = null;
        }
        if (how == null) {
            Spans.ready(s);
            if (!s.takeRescheduled()) {
                s.touch(System.nanoTime());
            }
        }
        return how;
    }

    private SessionEnd handle(SessionImpl s, Object event) throws InterruptedException {
        HandlerResult<Object> result;
        switch (event) {
            case null -> {
                return SessionEnd.TIMEOUT;
            }
            case Control c -> {
                return switch (c) {
                    case CLOSE -> SessionEnd.USER;
                    case SHUTDOWN -> SessionEnd.SHUTDOWN;
                    case EVICT -> SessionEnd.EVICTED;
                };
            }
            case Unreachable u -> {
                return s.endWith(SessionEnd.UNREACHABLE, u.reason());
            }
            case Data d -> {
                MemorySegment data = MemorySegment.ofArray(d.bytes()).asReadOnly();
                SessionLayer layer = s.layer();
                if (layer != null) {
                    data = layer.unwrap(data); // a throw ends the session in error
                    if (!s.connected()) {
                        if (!layer.ready()) {
                            s.touch(System.nanoTime()); // still getting ready: the handler waits; this was activity
                            return null;
                        }
                        s.markConnected();
                        SessionEnd how = connect(s, d);
                        if (how != null) {
                            return how;
                        }
                    }
                    if (data == null) {
                        s.touch(System.nanoTime()); // the layer kept it (a retransmission, ...)
                        return null;
                    }
                }
                datagramNow = d;
                Spans.recv(dev.abyss.server.telemetry.EventKind.CONNECTION_ASYNC_RECV, s, data);
                try {
                    result = callbacks.handler().handleData(s, data, s.state());
                } finally {
                    datagramNow = null;
                }
            }
            case Message m -> {
                if (!s.connected()) {
                    drops.drop(Drop.SESSION_ENDED, s.key, 0); // its layer is not ready: the handler has not seen it
                    return null;
                }
                result = callbacks.handler().handleMessage(s, m.message(), s.state());
            }
            default -> throw new IllegalStateException("unknown mailbox event " + event);
        }
        long now = System.nanoTime();
        SessionEnd how = s.apply(result, now);
        if (!s.takeRescheduled() && how == null) {
            s.touch(now); // activity pushes the idle deadline
        }
        return how;
    }

    @Override
    public String toString() {
        return "VirtualSession[" + session.remoteAddress() + "]";
    }
}
