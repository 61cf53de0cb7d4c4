package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TruncationPolicy;
import dev.abyss.server.telemetry.EventKind;
import dev.abyss.server.telemetry.Telemetry;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One acceptor thread: owns a transport (one SO_REUSEPORT socket), the sessions of the peers the
 * kernel hashes to that socket, their timer wheel, the off-heap queue through which other threads
 * send, and the command queue for posts and closes. Callbacks run here in INLINE mode; in
 * VIRTUAL_THREADS mode they run on each session's {@link VirtualSession}.
 */
final class Acceptor implements Runnable, Transport.ReceiveSink, Inbox.Receiver, Retries.Host {
    private static final Logger LOG = LoggerFactory.getLogger(Acceptor.class);
    /** After the stop deadline: time for virtual sessions to run handleShutdown, then again after an interrupt. */
    private static final long SHUTDOWN_GRACE_NANOS = 1_000_000_000L;
    /** Failures of the duty cycle tolerated per minute before the acceptor gives up (see {@link #serve()}). */
    static final int MAX_FAILURES = 3;
    private static final long FAILURE_WINDOW_NANOS = 60_000_000_000L;

    final int index;
    final Counters counters = new Counters();
    /** Telemetry span of this acceptor; its parent is the listener's. */
    final long spanContext = Telemetry.newSpanContext();
    /** The INLINE callback limit's counter, read by the watchdog. */
    final CallbackClock clock = new CallbackClock();

    private final ServerEngine engine;
    private final ServerConfig config;
    private final Transport transport;
    private final Callbacks callbacks;
    private final boolean virtual;
    private final InlineDispatch inline;
    private final long readTimeoutNanos;
    private final Arena arena = Arena.ofShared();
    private final Outbox outbox;
    private final ConcurrentHashMap<PeerKey, SessionImpl> sessions = new ConcurrentHashMap<>();
    private final Inbox inbox;
    /** Posts refused by a full virtual-thread mailbox, counted by the posting threads. */
    private final AtomicLong mailboxRefused = new AtomicLong();
    private final Retries retries;
    private final TimerWheel wheel;
    private final Consumer<SessionImpl> onExpired = s -> end(s, SessionEnd.TIMEOUT);
    /** Ended sessions whose connection.stop waits for the flush that sends their last datagrams. */
    private final ArrayList<SessionImpl> pendingStops = new ArrayList<>();

    private volatile Thread thread;
    private volatile boolean suspended;
    private volatile boolean stopRequested;
    private volatile long stopDeadline = Long.MAX_VALUE;
    private boolean receivingStopped;
    private boolean receivedLastTurn;
    private boolean shutdownOffered;
    private boolean interruptedSessions;
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
        this.callbacks = new Callbacks(config.handler(), config.silentTerminateOnError(), engine.errorLog());
        this.virtual = config.dispatchMode() == DispatchMode.VIRTUAL_THREADS;
        this.inline = new InlineDispatch(callbacks, config.segmentHandler(), clock, config.checkViews(), config.inlineCallbackLimit());
        this.readTimeoutNanos = config.readTimeout().toNanos();
        this.inbox = new Inbox(config.mailboxCapacity(), this::wakeup);
        this.now = System.nanoTime();
        this.wheel = new TimerWheel(now);
        try {
            this.outbox = new Outbox(this, counters, sessions, arena, config.sendQueueBytes());
            this.retries = new Retries(config.maxConnectionsRetryCount(), config.maxConnectionsRetryWait().toNanos(),
                    config.retryBufferBytes(), arena, this);
            this.transport = factory.open(TransportSettings.of(config), address, reusePort, probeFirst, this, outbox);
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
        sessions.values().forEach(action);
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

    boolean isOwnerThread() {
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
            for (SessionImpl s : sessions.values()) {
                if (virtual) {
                    abandon(s);
                } else {
                    end(s, SessionEnd.SHUTDOWN);
                }
            }
            drainCommands(); // posts and closes queued meanwhile are for ended sessions: dropped
            outbox.drain(); // sends made by handleShutdown from other threads still go out
            transport.flush();
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
     * {@link #MAX_FAILURES} within a minute and the acceptor gives up: the failure is returned and
     * the whole server stops, loudly.
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
                if (++failures > MAX_FAILURES) {
                    LOG.error("acceptor {} failed {} times within a minute; stopping the server", index, failures, t);
                    return t;
                }
                LOG.error("acceptor {} caught a failure in its duty cycle; it goes on serving", index, t);
            }
        }
    }

    /** Test hook: runs at the top of every loop turn when set. */
    static volatile Runnable faultInjector;

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
            drainCommands();
            outbox.drain();
            retries.process(now);
            wheel.advance(now, onExpired);
            transport.flush();
            if (!pendingStops.isEmpty()) {
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
        long late = now - stopDeadline;
        if (!virtual) {
            return queuesEmpty || late >= 0; // no callback runs between turns: the rest end on the way out
        }
        if (late < 0) {
            sessions.values().forEach(s -> s.virtual.offerShutdownIfIdle());
            return false;
        }
        if (!shutdownOffered) {
            shutdownOffered = true;
            sessions.values().forEach(s -> s.virtual.offerShutdown());
        } else if (late >= SHUTDOWN_GRACE_NANOS && !interruptedSessions) {
            interruptedSessions = true;
            sessions.values().forEach(s -> s.virtual.interrupt());
        }
        return late >= 2 * SHUTDOWN_GRACE_NANOS;
    }

    /** How long the next poll may wait: until the next timer, retry or stop step; 0 with sends still queued. */
    private long waitNanos() {
        if (outbox.more()) {
            return 0;
        }
        int wait = wheel.millisToNextTick(now);
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
    public void onDatagram(PeerKey peer, MemorySegment data, boolean truncated) {
        counters.increment(Counters.DATAGRAMS_IN);
        counters.add(Counters.BYTES_IN, data.byteSize());
        if (truncated) {
            counters.increment(Counters.TRUNCATED);
            truncatedFrom(peer, data.byteSize());
            if (config.truncationPolicy() == TruncationPolicy.DROP) {
                return;
            }
        }
        if (retries.isWaiting(peer)) {
            retries.add(peer, data, truncated, now, stopRequested); // behind this peer's earlier datagrams
            return;
        }
        SessionImpl s = sessions.get(peer);
        if (s != null) {
            if (!virtual) {
                deliverInline(s, data, truncated);
                return;
            }
            if (offerVirtual(s, data, truncated)) {
                return;
            }
            sessions.remove(s.key, s); // it ended meanwhile: this datagram opens a new session
        }
        if (suspended) {
            counters.increment(Counters.DROPPED_SUSPENDED);
            JfrEvents.drop("suspended", peer, data.byteSize());
            return;
        }
        if (tryOpen(peer, data, truncated) == null) {
            retries.add(peer, data, truncated, now, stopRequested);
        }
    }

    @Override
    public SessionImpl tryOpen(PeerKey peer, MemorySegment first, boolean truncated) {
        if (!engine.tryReserveSession()) {
            return null;
        }
        PeerKey key = peer.copy(); // the table keeps it
        SessionImpl s = new SessionImpl(this, key, key.toSocketAddress(), config.handlerOptions(), readTimeoutNanos);
        s.spanContext = Telemetry.newSpanContext();
        s.openedAt = now;
        sessions.put(key, s);
        counters.increment(Counters.SESSIONS_OPENED);
        Spans.connectionStart(s, spanContext);
        JfrEvents.sessionOpened(s);
        s.countReceived((int) first.byteSize()); // received even when handleConnection ends it
        if (virtual) {
            s.virtual = new VirtualSession(s, callbacks, this, config.mailboxCapacity());
            // offered before the thread starts: handleConnection cannot have closed the mailbox yet
            s.virtual.offerData(first, truncated);
            s.virtual.start("abyss-session-" + s.remoteAddress());
            return s;
        }
        s.deadlineNanos = now + s.timeoutNanos;
        wheel.schedule(s);
        finishInline(s, inline.connection(s, now));
        if (s.isOpenLocal()) {
            Spans.ready(s);
            dispatchInline(s, first, truncated);
        }
        return s;
    }

    @Override
    public void deliver(SessionImpl s, MemorySegment data, boolean truncated) {
        if (!virtual) {
            deliverInline(s, data, truncated);
        } else if (!offerVirtual(s, data, truncated)) {
            counters.increment(Counters.DROPPED_SESSION_ENDED);
        }
    }

    private void deliverInline(SessionImpl s, MemorySegment data, boolean truncated) {
        s.countReceived((int) data.byteSize());
        dispatchInline(s, data, truncated);
    }

    private void dispatchInline(SessionImpl s, MemorySegment data, boolean truncated) {
        s.deadlineNanos = now + s.timeoutNanos; // a one-shot timeout ends with the next datagram
        finishInline(s, inline.data(s, data, truncated, now));
    }

    /** False when the session's mailbox is closed (it ended); a full mailbox drops and counts. */
    private boolean offerVirtual(SessionImpl s, MemorySegment data, boolean truncated) {
        switch (s.virtual.offerData(data, truncated)) {
            case OK -> s.countReceived((int) data.byteSize());
            case FULL -> {
                counters.increment(Counters.DROPPED_MAILBOX_FULL);
                JfrEvents.drop("mailbox_full", s.key, data.byteSize());
            }
            case CLOSED -> {
                return false;
            }
        }
        return true;
    }

    private void finishInline(SessionImpl s, SessionEnd how) {
        if (how != null) {
            end(s, how);
        } else if (s.rescheduled) {
            s.rescheduled = false;
            wheel.deadlineChanged(s);
        }
    }

    // ---- ending sessions -----------------------------------------------------------------------

    private void end(SessionImpl s, SessionEnd how) {
        if (!s.isOpenLocal()) {
            return;
        }
        if (how.callbackBeforeClose()) {
            callbacks.terminal(s, how);
        }
        if (!s.markClosed()) {
            return;
        }
        s.endedBy = how;
        closed(s, how);
        if (how == SessionEnd.ERROR) {
            callbacks.logError(s);
        }
        if (!how.callbackBeforeClose()) {
            callbacks.terminal(s, how);
        }
    }

    private void closed(SessionImpl s, SessionEnd how) {
        sessions.remove(s.key, s);
        engine.releaseSession();
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

    /** A datagram from {@code peer} dropped because the table stayed full: counted, spawn_error, JFR. */
    @Override
    public void droppedTableFull(PeerKey peer, long bytes) {
        counters.increment(Counters.DROPPED_TABLE_FULL);
        Spans.spawnError(spanContext, peer, now);
        JfrEvents.drop("table_full", peer, bytes);
    }

    private void truncatedFrom(PeerKey peer, long bytes) {
        if (EventKind.CONNECTION_RECV_ERROR.enabled()) {
            SessionImpl s = sessions.get(peer);
            Spans.recvError(s != null ? s.spanContext : spanContext, peer, bytes, config.maxDatagramSize());
        }
        JfrEvents.drop("truncated", peer, bytes);
    }

    /** A virtual session's thread: the session ended ({@code dropped} events were never handled). */
    void virtualSessionEnded(SessionImpl s, SessionEnd how, int dropped) {
        inbox.ended(s, how, dropped);
    }

    /** At exit: a virtual session that did not end within the shutdown grace. */
    private void abandon(SessionImpl s) {
        LOG.error("session {} did not finish handleShutdown within {} ms after the shutdown deadline; abandoned",
                s.remoteAddress(), 2 * SHUTDOWN_GRACE_NANOS / 1_000_000);
        if (s.markClosed()) {
            s.endedBy = SessionEnd.SHUTDOWN;
            closed(s, SessionEnd.SHUTDOWN);
        }
    }

    // ---- sends, posts and closes from any thread -----------------------------------------------

    boolean send(SessionImpl s, MemorySegment data, long offset, long length) {
        return outbox.send(s, data, offset, length);
    }

    long foreignSendQueueFull() {
        return outbox.foreignQueueFull.get();
    }

    long foreignMailboxFull() {
        return mailboxRefused.get() + inbox.refused.get();
    }

    boolean post(SessionImpl s, Object message) {
        if (callbacks.handler() == null) {
            throw new IllegalStateException("post() needs a Handler: a SegmentHandler has no handleMessage");
        }
        if (!s.isOpen()) {
            return false;
        }
        if (virtual) {
            return switch (s.virtual.offerMessage(message)) {
                case OK -> true;
                case FULL -> {
                    mailboxRefused.incrementAndGet();
                    yield false;
                }
                case CLOSED -> false;
            };
        }
        return inbox.post(s, message);
    }

    void closeFromUser(SessionImpl s) {
        if (virtual) {
            s.virtual.offerClose();
        } else if (isOwnerThread()) {
            end(s, SessionEnd.USER);
        } else if (s.isOpen()) {
            inbox.close(s); // never refused: a close must not be lost
        }
    }

    private void drainCommands() {
        inbox.drain(this);
    }

    @Override
    public void message(SessionImpl s, Object message) {
        if (s.isOpenLocal()) {
            handleMessageInline(s, message);
        } else {
            counters.increment(Counters.DROPPED_SESSION_ENDED);
        }
    }

    @Override
    public void close(SessionImpl s) {
        end(s, SessionEnd.USER);
    }

    @Override
    public void ended(SessionImpl s, SessionEnd how, int dropped) {
        closed(s, how);
        counters.add(Counters.DROPPED_SESSION_ENDED, dropped);
    }

    private void handleMessageInline(SessionImpl s, Object message) {
        s.deadlineNanos = now + s.timeoutNanos; // a message counts as activity
        finishInline(s, inline.message(s, message, now));
    }
}
