package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.FullTablePolicy;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TruncationPolicy;
import dev.abyss.server.telemetry.EventKind;
import dev.abyss.server.transport.ReceivedDatagram;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.function.Consumer;

/**
 * One acceptor thread: owns a transport (one SO_REUSEPORT socket), the sessions of the peers the
 * kernel hashes to that socket, the off-heap queue through which other threads send, the retry
 * queue of peers waiting for a place, and a {@link Dispatcher} that runs the callbacks (INLINE on
 * this thread, VIRTUAL_THREADS on each session's own).
 *
 * <p>A datagram's way: {@link Transport#poll} → {@link #onDatagram} (counted; truncated, waiting
 * or suspended datagrams stop here) → the peer's session, or {@link #tryOpen} a new one, or the
 * retry queue when the table is full → {@link Dispatcher#deliver}. A session leaves through
 * {@link #closed}, the one place for that.
 */
final class Acceptor implements Runnable, Transport.ReceiveSink, Retries.Host, Dispatcher.Host {
    private static final Logger LOG = LoggerFactory.getLogger(Acceptor.class);
    /** Failures of the duty cycle tolerated per minute before the acceptor gives up (see {@link #serve()}). */
    static final int MAX_FAILURES = 3;
    private static final long FAILURE_WINDOW_NANOS = 60_000_000_000L;

    /** Test hook: runs at the top of every loop turn when set. */
    static volatile Runnable faultInjector;

    final int index;
    final Counters counters = new Counters();
    /** Telemetry span of this acceptor; its parent is the listener's. */
    final long spanContext = Spans.newSpanContext();
    /** The INLINE callback limit's counter, read by the watchdog. */
    final CallbackClock clock = new CallbackClock();

    private final ServerEngine engine;
    private final ServerConfig config;
    private final Transport transport;
    private final Dispatcher dispatcher;
    private final long readTimeoutNanos;
    private final Arena arena = Arena.ofShared();
    private final Outbox outbox;
    private final SessionTable sessions = new SessionTable();
    private final Inbox inbox;
    private final Retries retries;
    /** Non-null for a DatagramHandler: no sessions at all. */
    private final StatelessDispatch stateless;
    /** Eviction order, kept when the full-table policy is EVICT. */
    private final IdleOrder idle;
    /** For handlers to build replies in (Session.scratch(), Peer.scratch()). */
    private final MemorySegment scratch = arena.allocate(SCRATCH_BYTES, 64);
    /** Where ByteBuffer sends are copied through on this thread (not the handlers' scratch: they may send from it). */
    private final MemorySegment staging = arena.allocate(SCRATCH_BYTES, 64);
    private final java.nio.ByteBuffer stagingView = staging.asByteBuffer();
    private static final int SCRATCH_BYTES = 65_536;
    /** Ended sessions whose connection.stop waits for the flush that sends their last datagrams. */
    private final ArrayList<SessionImpl> pendingStops = new ArrayList<>();

    private volatile Thread thread;
    private volatile boolean suspended;
    private volatile boolean stopRequested;
    private volatile long stopDeadline = Long.MAX_VALUE;
    private boolean receivingStopped;
    private long now;

    /**
     * Opens this acceptor's transport ({@code factory}) on {@code address}, with SO_REUSEPORT when
     * {@code reusePort}, the first one proving the address free ({@code probeFirst}).
     */
    Acceptor(ServerEngine engine, int index, ServerConfig config, TransportFactory factory, SocketAddress address,
             boolean reusePort, boolean probeFirst) throws IOException {
        this.engine = engine;
        this.index = index;
        this.config = config;
        this.readTimeoutNanos = config.readTimeout().toNanos();
        this.now = System.nanoTime();
        this.inbox = new Inbox(config.mailboxCapacity(), this::wakeup);
        Callbacks callbacks = new Callbacks(config.handler(), config.silentTerminateOnError(), engine.errorLog());
        this.dispatcher = config.dispatchMode() == DispatchMode.VIRTUAL_THREADS
                ? new VirtualDispatcher(this, callbacks, inbox, config.mailboxCapacity())
                : new InlineDispatcher(this, callbacks, config.segmentHandler(), clock, config.checkViews(),
                config.inlineCallbackLimit(), inbox, now);
        try {
            this.outbox = new Outbox(this, counters, sessions, arena, config.sendQueueBytes());
            this.retries = new Retries(config.maxConnectionsRetryCount(), config.maxConnectionsRetryWait().toNanos(),
                    config.retryBufferBytes(), arena, this);
            this.transport = factory.open(TransportSettings.of(config), address, reusePort, probeFirst, this, outbox);
            this.stateless = config.datagramHandler() == null ? null
                    : new StatelessDispatch(config.datagramHandler(), outbox, clock, engine.errorLog(), counters, scratch, staging);
            this.idle = config.fullTablePolicy() == FullTablePolicy.EVICT ? new IdleOrder() : null;
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
        outbox.bind(transport);
    }

    private void wakeup() {
        transport.wakeup();
    }

    SocketAddress localAddress() {
        return transport.localAddress();
    }

    int liveSessions() {
        return sessions.size();
    }

    @Override
    public SessionImpl session(PeerKey key) {
        return sessions.get(key);
    }

    void forEachSession(Consumer<? super SessionImpl> action) {
        sessions.forEach(action);
    }

    void suspend(boolean on) {
        suspended = on;
    }

    void requestStop(long deadlineNanos) {
        stopDeadline = deadlineNanos;
        stopRequested = true;
        transport.wakeup();
    }

    /** Frees the resources of an acceptor whose thread was never started (a failed start). */
    void closeUnstarted() {
        transport.close();
        arena.close();
    }

    /** True once the socket, its buffers and the send queue's memory are freed. */
    boolean released() {
        return transport.isClosed() && !arena.scope().isAlive();
    }

    @Override
    public boolean isOwnerThread() {
        return Thread.currentThread() == thread;
    }

    // ---- the loop ------------------------------------------------------------------------------

    @Override
    public void run() {
        thread = Thread.currentThread();
        clock.owner(thread);
        long started = System.nanoTime();
        Throwable failure = null;
        Spans.acceptorStart(spanContext, engine.spanContext(), started);
        try {
            failure = serve();
        } catch (Throwable t) {
            failure = t; // thrown while handling a failure: nothing left to try
        } finally {
            if (failure != null) {
                engine.acceptorFailed(this, failure);
            }
            now = System.nanoTime();
            for (SessionImpl s : sessions.snapshot()) {
                dispatcher.exit(s);
            }
            dispatcher.turn(now); // posts and closes queued meanwhile are for ended sessions: dropped
            try {
                outbox.drain(); // sends made by handleShutdown from other threads still go out
                transport.settleSends();
            } catch (Throwable t) {
                LOG.warn("acceptor {}: the last sends could not be settled", index, t); // the exit goes on: close, release
            }
            emitStops();
            retries.clear();
            transport.close();
            arena.close();
            Spans.acceptorStop(spanContext, engine.spanContext(), started, System.nanoTime(),
                    counters.get(Counters.SESSIONS_OPENED), failure);
            engine.acceptorExited(this);
        }
    }

    /**
     * Runs the duty cycle until a stop. A Throwable that escapes it (an engine bug, an
     * OutOfMemoryError) is logged and the cycle resumes with the socket and sessions as they are,
     * so one fault does not silently take this socket's peers away; more than
     * {@link #MAX_FAILURES} within a minute, or a socket closed underneath it
     * ({@link dev.abyss.server.transport.SocketLostException}), and the acceptor gives up: the
     * failure is returned and the whole server stops, loudly.
     */
    private Throwable serve() {
        long windowStart = System.nanoTime();
        int failures = 0;
        while (true) {
            try {
                loop();
                return null;
            } catch (Throwable t) {
                long at = System.nanoTime();
                if (at - windowStart > FAILURE_WINDOW_NANOS) {
                    windowStart = at;
                    failures = 0;
                }
                counters.increment(Counters.ACCEPTOR_FAILURES);
                if (t instanceof dev.abyss.server.transport.SocketLostException) {
                    LOG.error("acceptor {} lost its socket; stopping the server", index, t);
                    return t; // nothing to resume: the socket is gone
                }
                if (++failures > MAX_FAILURES) {
                    LOG.error("acceptor {} failed {} times within a minute; stopping the server", index, failures, t);
                    return t;
                }
                LOG.error("acceptor {} caught a failure in its duty cycle; it goes on serving", index, t);
            }
        }
    }

    /** The duty cycle: I/O, then what other threads queued, retries, timers, and what must go out. */
    private void loop() {
        while (true) {
            Runnable fault = faultInjector;
            if (fault != null) {
                fault.run();
            }
            now = System.nanoTime();
            if (stopRequested && stopStep()) {
                return;
            }
            clock.clearLateInterrupt();
            transport.poll(waitNanos());
            now = System.nanoTime();
            dispatcher.turn(now);
            outbox.drain();
            retries.process(now);
            transport.flush();
            if (!pendingStops.isEmpty()) {
                transport.settleSends(); // the ended sessions' last datagrams are counted in their stop event
                emitStops();
            }
        }
    }

    private void emitStops() {
        long t = System.nanoTime();
        for (SessionImpl s : pendingStops) {
            Spans.connectionStop(s, spanContext, t);
            JfrEvents.sessionEnded(s);
        }
        pendingStops.clear();
    }

    /**
     * One step of a stop; true when the loop may end. A UDP session never ends by itself, so the
     * stop waits only while sessions have work in flight (a callback running, a mailbox or queue
     * not empty): an idle session gets handleShutdown at once, a busy one when it is done or at
     * the deadline.
     */
    private boolean stopStep() {
        if (!receivingStopped) {
            transport.stopReceiving();
            receivingStopped = true;
        }
        boolean queuesEmpty = inbox.isEmpty() && outbox.queueEmpty();
        if (sessions.isEmpty() && queuesEmpty) {
            return true;
        }
        return dispatcher.stopStep(sessions.snapshot(), queuesEmpty, now - stopDeadline);
    }

    /** How long the next poll may wait: until the next timer, retry or stop step; 0 with sends still queued. */
    private long waitNanos() {
        if (outbox.more()) {
            return 0;
        }
        int wait = dispatcher.millisToNextTimer(now);
        wait = min(wait, retries.millisToNext(now));
        if (stopRequested) {
            wait = min(wait, (int) Math.max(0, Math.min(20, (stopDeadline - now + 999_999) / 1_000_000)));
        }
        return wait < 0 ? -1 : wait * 1_000_000L;
    }

    private static int min(int a, int b) {
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }

    // ---- receive path --------------------------------------------------------------------------

    @Override
    public void beginBatch() {
        now = System.nanoTime();
    }

    @Override
    public void onReceiveError(int errno) {
        counters.increment(Counters.RECEIVE_ERRORS);
    }

    @Override
    public void onKernelDrops(long count) {
        counters.add(Counters.KERNEL_DROPS, count);
        Spans.kernelDrops(spanContext, count, counters.get(Counters.KERNEL_DROPS), now);
        JfrEvents.kernelDrops(transport.localAddress(), count);
    }

    /**
     * An ICMP error about {@code peer}: counted; when its port is unreachable (ECONNREFUSED) its
     * session ends at once with handleError(PortUnreachableException), so a vanished peer frees its
     * place in the table instead of holding it for the whole readTimeout.
     */
    @Override
    public void onUnreachable(PeerKey peer, int errno) {
        counters.increment(Counters.UNREACHABLE);
        if (errno != dev.abyss.ffi.Errno.ECONNREFUSED) {
            return; // host or network unreachable can be transient: the idle timeout decides
        }
        SessionImpl s = sessions.get(peer);
        if (s != null && s.isOpen()) {
            counters.increment(Counters.SESSIONS_UNREACHABLE);
            dispatcher.unreachable(s, new java.net.PortUnreachableException("peer " + s.remoteAddress()
                    + " is unreachable: ICMP port unreachable"));
        }
    }

    @Override
    public void onCoalesced(int segments) {
        counters.increment(Counters.GRO_RECEIVES);
        counters.add(Counters.GRO_SEGMENTS, segments);
    }

    @Override
    public void onDatagram(PeerKey peer, MemorySegment data, boolean truncated) {
        counters.increment(Counters.DATAGRAMS_IN);
        counters.add(Counters.BYTES_IN, data.byteSize());
        if (truncated) {
            truncatedFrom(peer, data.byteSize());
            if (config.truncationPolicy() == TruncationPolicy.DROP) {
                return;
            }
        }
        if (stateless != null) {
            stateless.handle(peer, transport.received(), data);
            return;
        }
        if (retries.isWaiting(peer)) {
            retries.add(peer, transport.received().destinationKey(), data, truncated, now, stopRequested); // behind its earlier ones
            return;
        }
        SessionImpl s = sessions.get(peer);
        if (s != null) {
            if (idle != null) {
                idle.touched(s);
            }
            if (dispatcher.deliver(s, data, transport.received(), now)) {
                return;
            }
            sessions.remove(s); // it ended meanwhile: this datagram opens a new session
        }
        if (suspended || stopRequested) {
            // stopping: an acceptor that closed its socket first hands its peers to the others by
            // the kernel's hash; they must not open new sessions in the last moments
            drop(Drop.SUSPENDED, peer, data.byteSize());
            return;
        }
        ReceivedDatagram info = transport.received();
        PeerKey arrivedAt = info.destinationKey();
        if (open(peer, data, info, arrivedAt) == null && !(evictOne() && openReserved(peer, data, info, arrivedAt) != null)) {
            retries.add(peer, arrivedAt, data, truncated, now, stopRequested);
        }
    }

    /**
     * The table is full: ends this acceptor's best eviction candidate ({@link IdleOrder}); true when
     * its place is free now. False with no candidate, with the REFUSE policy, or when the victim
     * ends on its own thread (the new peer waits in the retry queue meanwhile).
     */
    private boolean evictOne() {
        if (idle == null) {
            return false;
        }
        SessionImpl victim = idle.victim();
        if (victim == null) {
            return false;
        }
        idle.removed(victim);
        counters.increment(Counters.EVICTED);
        handOver = victim; // its place goes to the new peer, not back to the pool another acceptor may grab
        try {
            return dispatcher.evict(victim) && handOver == null;
        } finally {
            handOver = null; // still set: the victim ends later, on its own thread, and releases its place then
        }
    }

    /** The session being evicted whose place is handed straight to the new peer (see {@link #closed}). */
    private SessionImpl handOver;

    @Override
    public SessionImpl tryOpen(PeerKey peer, PeerKey arrivedAt, MemorySegment first, boolean truncated) {
        // a datagram that waited: its other facts are gone, where it was sent to was kept for the replies
        return open(peer, first, DatagramFacts.of(truncated), arrivedAt);
    }

    /** Opens a session when the table has room; {@code arrivedAt}: where its replies leave from (null: the route's). */
    private SessionImpl open(PeerKey peer, MemorySegment first, DatagramInfo info, PeerKey arrivedAt) {
        if (!engine.tryReserveSession()) {
            return null;
        }
        return openReserved(peer, first, info, arrivedAt);
    }

    /** Opens a session in a place already reserved. */
    private SessionImpl openReserved(PeerKey peer, MemorySegment first, DatagramInfo info, PeerKey arrivedAt) {
        PeerKey key = peer.copy(); // the table keeps it
        SessionImpl s = new SessionImpl(this, key, config.newSessionState(), readTimeoutNanos);
        s.spanContext = Spans.newSpanContext();
        s.openedAt = now;
        sessions.put(s);
        if (idle != null) {
            idle.added(s);
        }
        counters.increment(Counters.SESSIONS_OPENED);
        Spans.connectionStart(s, spanContext);
        JfrEvents.sessionOpened(s);
        if (arrivedAt != null) {
            s.arrival = arrivedAt.copy(); // replies leave from the address the peer talks to
        }
        s.countReceived((int) first.byteSize()); // received even when handleConnection ends it
        dispatcher.open(s, first, info, now);
        return s;
    }

    @Override
    public void deliver(SessionImpl s, MemorySegment data, boolean truncated) {
        if (!dispatcher.deliver(s, data, DatagramFacts.of(truncated), now)) {
            drop(Drop.SESSION_ENDED, s.key, data.byteSize());
        }
    }

    private void truncatedFrom(PeerKey peer, long bytes) {
        if (EventKind.CONNECTION_RECV_ERROR.enabled()) {
            SessionImpl s = sessions.get(peer);
            Spans.recvError(s != null ? s.spanContext : spanContext, peer, bytes, config.maxDatagramSize());
        }
        drop(Drop.TRUNCATED, peer, bytes);
    }

    // ---- drops and session ends: one place each ------------------------------------------------

    /** Counts a dropped datagram with its cause and reports it to JFR; a refused new peer is also a spawn_error. */
    void drop(Drop cause, PeerKey peer, long bytes) {
        drop(cause, peer, bytes, null);
    }

    /** {@link #drop(Drop, PeerKey, long)} with a detail for JFR (e.g. the errno of a failed send). */
    void drop(Drop cause, PeerKey peer, long bytes, String detail) {
        counters.increment(cause.counter);
        if (cause == Drop.TABLE_FULL) {
            Spans.spawnError(spanContext, peer, now);
        }
        JfrEvents.drop(detail == null ? cause.cause : cause.cause + " " + detail, peer, bytes);
    }

    @Override
    public void drop(Drop cause, SessionImpl s, long bytes) {
        drop(cause, s == null ? null : s.key, bytes);
    }

    @Override
    public void droppedTableFull(PeerKey peer, long bytes) {
        drop(Drop.TABLE_FULL, peer, bytes);
    }

    @Override
    public void closed(SessionImpl s, SessionEnd how) {
        sessions.remove(s);
        if (idle != null) {
            idle.removed(s);
        }
        if (s == handOver) {
            handOver = null; // kept for the peer the eviction made room for
        } else {
            engine.releaseSession();
        }
        counters.increment(Counters.SESSIONS_CLOSED);
        if (how == SessionEnd.ERROR) {
            counters.increment(Counters.HANDLER_ERRORS);
        }
        if (how == SessionEnd.USER) {
            Spans.socketShutdown(s);
        }
        if (EventKind.CONNECTION_STOP.enabled() || s.jfr != null) {
            pendingStops.add(s);
        }
    }

    // ---- sends, posts and closes from any thread -----------------------------------------------

    /** The facts of the datagram an INLINE session is handling now, or null. */
    DatagramInfo inlineDatagram(SessionImpl s) {
        return dispatcher instanceof InlineDispatcher inline ? inline.datagramOf(s) : null;
    }

    int sendSegments(SessionImpl s, MemorySegment data, long offset, long length, int segmentSize) {
        return outbox.sendSegments(s, null, null, -1, data, offset, length, segmentSize); // a session sends with its own
    }

    boolean send(SessionImpl s, MemorySegment data, long offset, long length) {
        return outbox.send(s, data, offset, length);
    }

    /** {@link dev.abyss.server.Session#send(java.nio.ByteBuffer)}: staged through a reused buffer on this thread, wrapped elsewhere. */
    boolean send(SessionImpl s, java.nio.ByteBuffer data) {
        if (isOwnerThread() && data.remaining() <= staging.byteSize()) {
            stagingView.put(0, data, data.position(), data.remaining()); // no segment per call
            return outbox.send(s, staging, 0, data.remaining());
        }
        MemorySegment all = MemorySegment.ofBuffer(data);
        return outbox.send(s, all, 0, all.byteSize());
    }

    /** The handlers' scratch buffer: owner thread only. */
    MemorySegment scratch() {
        if (!isOwnerThread()) {
            throw new IllegalStateException("scratch() is the acceptor's buffer: use it in a callback on the acceptor thread, not from "
                    + Thread.currentThread());
        }
        return scratch;
    }

    /** A datagram to {@code peer} without a session, from any thread. */
    boolean sendTo(PeerKey peer, MemorySegment data, long offset, long length) {
        return outbox.sendTo(peer, data, offset, length);
    }

    long foreignSendQueueFull() {
        return outbox.foreignQueueFull.get();
    }

    long foreignMailboxFull() {
        return dispatcher.refusedPosts();
    }

    boolean post(SessionImpl s, Object message) {
        if (config.handler() == null) {
            throw new IllegalStateException("post() needs a Handler: a SegmentHandler has no handleMessage");
        }
        return dispatcher.post(s, message);
    }

    void closeFromUser(SessionImpl s) {
        dispatcher.close(s);
    }
}
