package dev.abyss.server.engine;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.FullTablePolicy;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerChoice;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TruncationPolicy;
import dev.abyss.server.engine.admission.Admission;
import dev.abyss.server.engine.admission.SessionCap;
import dev.abyss.server.engine.admission.SessionPlaces;
import dev.abyss.server.engine.dispatch.CallbackClock;
import dev.abyss.server.engine.dispatch.Callbacks;
import dev.abyss.server.engine.dispatch.Dispatcher;
import dev.abyss.server.engine.dispatch.Inbox;
import dev.abyss.server.engine.dispatch.InlineDispatcher;
import dev.abyss.server.engine.dispatch.StatelessDispatch;
import dev.abyss.server.engine.dispatch.VirtualDispatcher;
import dev.abyss.server.engine.outbound.Outbox;
import dev.abyss.server.engine.outbound.ReplyLimits;
import dev.abyss.server.engine.outbound.SendResults;
import dev.abyss.server.engine.session.IdleOrder;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.engine.session.SessionTable;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.Drop;
import dev.abyss.server.engine.telemetry.Drops;
import dev.abyss.server.engine.telemetry.ErrorLog;
import dev.abyss.server.engine.telemetry.JfrEvents;
import dev.abyss.server.engine.telemetry.SessionStops;
import dev.abyss.server.engine.telemetry.Spans;
import dev.abyss.server.telemetry.EventKind;
import dev.abyss.server.transport.DatagramFacts;
import dev.abyss.server.transport.SocketLostException;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.util.List;
import java.util.function.Supplier;

/**
 * One acceptor thread: a duty cycle over one transport (one SO_REUSEPORT socket), and the receive
 * sink that routes each datagram. It owns, and wires once, the rooms a datagram passes through:
 * the session table, {@link Admission} for new peers, a {@link Dispatcher} (or
 * {@link StatelessDispatch}) that runs the handler, and the {@link Outbox} every send takes.
 *
 * <p>A datagram's way: {@link Transport#poll} → {@link #onDatagram} (counted; a truncated one may
 * stop here) → the stateless handler, or the peer's live session → {@link Dispatcher#deliver}, or
 * {@link Admission#admit} for a peer without one. Nothing it hands on calls back into it.
 */
final class Acceptor implements Runnable, Transport.ReceiveSink {
    private static final Logger LOG = LoggerFactory.getLogger(Acceptor.class);
    /** Failures of the duty cycle tolerated per minute before the acceptor gives up (see {@link #serve()}). */
    static final int MAX_FAILURES = 3;
    private static final long FAILURE_WINDOW_NANOS = 60_000_000_000L;

    /** Test hook: runs at the top of every loop turn when set. */
    static volatile Runnable faultInjector;

    final int index;
    /** Telemetry span of this acceptor; its parent is the listener's. */
    final long spanContext = Spans.newSpanContext();
    /** The INLINE callback limit's counter, read by the watchdog. */
    final CallbackClock clock = new CallbackClock();
    final Counters counters = new Counters();
    final Drops drops = new Drops(counters, spanContext);
    final SessionTable sessions = new SessionTable();

    private final ServerEngine engine;
    /** The CPU this acceptor's thread is pinned to, -1 for none. */
    private final int cpu;
    private final TruncationPolicy truncation;
    private final int maxDatagramSize;
    private final Arena arena = Arena.ofShared();
    private final SessionStops stops = new SessionStops(spanContext);
    private final Inbox inbox;
    private final Dispatcher dispatcher;
    private final Transport transport;
    final Outbox outbox;
    /** The outbox's reply limits, whose clock the loop sets; null when none is on. */
    private final ReplyLimits replyLimits;
    final Admission admission;
    private final SessionPlaces places;
    /** Non-null for a DatagramHandler: no sessions at all. */
    private final StatelessDispatch stateless;

    private volatile boolean stopRequested;
    private volatile long stopDeadline = Long.MAX_VALUE;
    private boolean receivingStopped;
    private long now;
    /** The coalesced receive being delivered: its segments, and those not delivered yet (0: none). */
    private int groSegments;
    private int groLeft;

    /**
     * Opens this acceptor's transport ({@code factory}) on {@code address}, with SO_REUSEPORT when
     * {@code reusePort}, the first one proving the address free ({@code probeFirst}), and wires the
     * rooms behind it.
     */
    Acceptor(ServerEngine engine, int index, ServerConfig config, TransportFactory factory, SocketAddress address,
             boolean reusePort, boolean probeFirst, SessionCap cap, Defences defences, ErrorLog errorLog,
             SessionLayer.Factory layers) throws IOException {
        this.engine = engine;
        this.index = index;
        List<Integer> cpus = config.placement().acceptorCpus();
        this.cpu = cpus.isEmpty() ? -1 : cpus.get(index % cpus.size());
        ServerConfig.SocketOptions socket = config.socket();
        ServerConfig.Limits limits = config.limits();
        this.truncation = socket.truncationPolicy();
        this.maxDatagramSize = socket.maxDatagramSize();
        this.now = System.nanoTime();
        try {
            this.transport = factory.open(TransportSettings.of(config), address, reusePort, probeFirst, this,
                    new SendResults(counters, drops, spanContext));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
        this.outbox = new Outbox(transport, sessions, drops, arena, limits.sendQueueBytes(), defences.replyLimits());
        this.replyLimits = outbox.limits();
        this.inbox = new Inbox(limits.mailboxCapacity(), transport::wakeup);
        IdleOrder idle = limits.fullTablePolicy() == FullTablePolicy.EVICT ? new IdleOrder() : null;
        this.places = new SessionPlaces(sessions, cap, idle, counters, stops, defences.quota());
        HandlerChoice choice = config.handler();
        Callbacks callbacks = new Callbacks(choice instanceof HandlerChoice.Sessions<?> s ? untyped(s.handler()) : null,
                config.dispatch().silentTerminateOnError(), errorLog);
        this.dispatcher = config.dispatch().mode() == DispatchMode.VIRTUAL_THREADS
                ? new VirtualDispatcher(places, drops, callbacks, inbox, limits.mailboxCapacity())
                : new InlineDispatcher(places, drops, callbacks,
                choice instanceof HandlerChoice.Segments s ? s.handler() : null, clock, config.dispatch().checkViews(),
                config.timeouts().inlineCallbackLimit(), inbox, now);
        Supplier<?> initialState = choice instanceof HandlerChoice.Sessions<?> s ? s.initialState() : () -> null;
        this.admission = new Admission(sessions, places, dispatcher, outbox, initialState::get,
                config.timeouts().readTimeout().toNanos(), spanContext, counters, drops,
                new Admission.RetryLimits(limits.maxConnectionsRetryCount(), limits.maxConnectionsRetryWait().toNanos(),
                        limits.retryBufferBytes()), arena, layers == null ? null : layers.forAcceptor(layerSide()), errorLog);
        this.stateless = choice instanceof HandlerChoice.Stateless s
                ? new StatelessDispatch(s.handler(), outbox, clock, errorLog, counters) : null;
    }

    /** What a session layer's factory sees of this acceptor: stateless replies through the outbox, counters from any thread. */
    private SessionLayer.Acceptor layerSide() {
        Outbox out = outbox;
        Drops counted = drops;
        return new SessionLayer.Acceptor() {
            @Override
            public dev.abyss.server.SendResult reply(PeerKey to, PeerKey from, MemorySegment data, long offset, long length) {
                return out.sendTo(to, from, -1, data, offset, length);
            }

            @Override
            public void count(int counter) {
                counted.countFromAnyThread(counter);
            }
        };
    }

    /**
     * The dispatch rooms call a session handler with Object states: sound, as the builder ties the
     * handler's state type to its initial state's ({@link HandlerChoice.Sessions}).
     */
    @SuppressWarnings("unchecked")
    private static Handler<Object> untyped(Handler<?> handler) {
        return (Handler<Object>) handler;
    }

    SocketAddress localAddress() {
        return transport.localAddress();
    }

    /** {@return the socket's fd, or -1 (NIO)} */
    int socketFd() {
        return transport.socketFd();
    }

    /** The socket's options and memberships, from any thread. */
    dev.abyss.server.transport.SocketControl control() {
        return transport.control();
    }

    /** Attaches reuseport steering by CPU over {@code sockets} acceptors to this acceptor's socket group. */
    void steerByCpu(int sockets) throws IOException {
        transport.steerByCpu(sockets);
    }

    /**
     * Pins this thread to its CPU when the config says so. A refusal (the process's CPUs changed
     * since build(), no native access) is a warning: the acceptor serves unpinned.
     */
    private void pin() {
        if (cpu < 0) {
            return;
        }
        try {
            dev.abyss.ffi.CpuSet.pinCurrentThread(cpu);
            LOG.debug("acceptor {} pinned to CPU {}", index, cpu);
        } catch (IOException | RuntimeException | LinkageError e) {
            LOG.warn("acceptor {}: could not be pinned to CPU {} ({}); it runs on any CPU the process may use", index, cpu,
                    e.toString());
        }
    }

    void requestStop(long deadlineNanos) {
        stopDeadline = deadlineNanos;
        stopRequested = true;
        admission.stopping();
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

    // ---- the loop ------------------------------------------------------------------------------

    @Override
    public void run() {
        Thread self = Thread.currentThread();
        pin();
        clock.owner(self);
        outbox.ownedBy(self);
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
            stops.emit();
            admission.clear();
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
     * ({@link SocketLostException}), and the acceptor gives up: the failure is returned and the
     * whole server stops, loudly.
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
                if (t instanceof SocketLostException) {
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

    /**
     * The duty cycle: I/O (the transport delivers datagrams to {@link #onDatagram} and settles the
     * previous turn's sends), then what other threads queued, retries, timers, and what must go out.
     */
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
            if (replyLimits != null) {
                replyLimits.tick(now); // the replies of this turn (queued sends, timers) are counted now
            }
            dispatcher.turn(now);
            outbox.drain();
            admission.retry(now);
            transport.flush();
            if (!stops.isEmpty()) {
                transport.settleSends(); // the ended sessions' last datagrams are counted in their stop event
                stops.emit();
            }
        }
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
        wait = min(wait, admission.millisToNextRetry(now));
        if (stopRequested) {
            wait = min(wait, (int) Math.max(0, Math.min(20, (stopDeadline - now + 999_999) / 1_000_000)));
        }
        return wait < 0 ? -1 : wait * 1_000_000L;
    }

    private static int min(int a, int b) {
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }

    // ---- Transport.ReceiveSink -----------------------------------------------------------------

    @Override
    public void beginBatch() {
        now = System.nanoTime();
        if (replyLimits != null) {
            replyLimits.tick(now);
        }
        groLeft = 0; // a coalesced receive never spans batches
    }

    @Override
    public void onDatagram(PeerKey peer, MemorySegment data, DatagramFacts facts) {
        counters.increment(Counters.DATAGRAMS_IN);
        counters.add(Counters.BYTES_IN, data.byteSize());
        if (groLeft != 0 && --groLeft == 0) {
            // its last segment is in DATAGRAMS_IN: a snapshot never shows more GRO segments than datagrams in
            counters.add(Counters.GRO_SEGMENTS, groSegments);
            counters.increment(Counters.GRO_RECEIVES);
        }
        if (facts.truncated()) {
            truncatedFrom(peer, data.byteSize());
            if (truncation == TruncationPolicy.DROP) {
                return;
            }
        }
        if (stateless != null) {
            stateless.handle(peer, data, facts);
            return;
        }
        SessionImpl s = sessions.get(peer);
        if (s != null && s.isOpenLocal()) {
            places.touched(s);
            if (dispatcher.deliver(s, data, facts, now)) {
                return;
            }
        }
        admission.admit(peer, data, facts, s, now);
    }

    @Override
    public void onReceiveError(int errno) {
        counters.increment(Counters.RECEIVE_ERRORS);
    }

    @Override
    public void onFrameRefused(int bytes) {
        drops.drop(Drop.XDP_FRAME_REFUSED, null, bytes); // after its RECEIVE_ERRORS: the part after its whole
    }

    @Override
    public void onSocketSends(long count) {
        counters.add(Counters.XDP_SOCKET_SENDS, count);
    }

    @Override
    public void onHopsContested(long count) {
        counters.add(Counters.XDP_HOPS_CONTESTED, count);
    }

    @Override
    public void onReceivePaused() {
        counters.increment(Counters.RECEIVE_PAUSES); // not an error: nothing lost, the datagrams wait in the socket
    }

    @Override
    public void onKernelDrops(long count) {
        counters.add(Counters.KERNEL_DROPS, count);
        Spans.kernelDrops(spanContext, count, counters.get(Counters.KERNEL_DROPS), now);
        JfrEvents.kernelDrops(transport.localAddress(), count);
    }

    /**
     * An ICMP error about {@code peer}: counted; when its port is unreachable (ECONNREFUSED) and its
     * quote matches one of the last datagrams sent to the peer ({@link SessionImpl#sentMatches}), its
     * session ends at once with handleError(PortUnreachableException), so a vanished peer frees its
     * place in the table instead of holding it for the whole readTimeout. A quote that matches none
     * is a forgery (any host can send an ICMP error naming any peer) or too short to tell: counted as
     * {@link Drop#UNREACHABLE_FORGED}, and the session goes on.
     */
    @Override
    public void onUnreachable(PeerKey peer, int errno, MemorySegment quote, int quoteLength) {
        counters.increment(Counters.UNREACHABLE);
        if (errno != Errno.ECONNREFUSED) {
            return; // host or network unreachable can be transient: the idle timeout decides
        }
        SessionImpl s = sessions.get(peer);
        if (s != null && s.isOpen()) {
            if (!s.sentMatches(quote, quoteLength)) {
                drops.drop(Drop.UNREACHABLE_FORGED, peer, quoteLength);
                return;
            }
            counters.increment(Counters.SESSIONS_UNREACHABLE);
            dispatcher.unreachable(s, new PortUnreachableException("peer " + s.remoteAddress()
                    + " is unreachable: ICMP port unreachable"));
        }
    }

    /** Counted when its last segment was delivered ({@link #onDatagram}): the segments come next, one by one. */
    @Override
    public void onCoalesced(int segments) {
        groSegments = segments;
        groLeft = segments;
    }

    private void truncatedFrom(PeerKey peer, long bytes) {
        if (EventKind.CONNECTION_RECV_ERROR.enabled()) {
            SessionImpl s = sessions.get(peer);
            Spans.recvError(s != null ? s.spanContext : spanContext, peer, bytes, maxDatagramSize);
        }
        drops.drop(Drop.TRUNCATED, peer, bytes);
    }
}
