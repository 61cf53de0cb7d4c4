package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.SegmentHandler;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TruncationPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One acceptor thread: owns a transport (one SO_REUSEPORT socket), the sessions of the peers the
 * kernel hashes to that socket, their timer wheel, and the queue through which other threads send,
 * post and close. Handler callbacks run here in INLINE mode.
 */
final class Acceptor implements Runnable, Transport.Sink, Transport.SendResult {
    private static final Logger LOG = LoggerFactory.getLogger(Acceptor.class);
    private static final int MAX_PENDING_RETRIES = 4096;
    private static final int RECEIVE_ROUNDS = 8; // batches per wake-up before serving timers and queues

    private enum End { CLOSE, ERROR, TIMEOUT, SHUTDOWN, USER }

    private sealed interface Command {
    }

    private record SendCommand(SessionImpl session, byte[] data) implements Command {
    }

    private record PostCommand(SessionImpl session, Object message) implements Command {
    }

    private record CloseCommand(SessionImpl session) implements Command {
    }

    private static final class Retry {
        final PeerKey peer;
        final byte[] data;
        final boolean truncated;
        int attempts;
        long due;

        Retry(PeerKey peer, byte[] data, boolean truncated, long due) {
            this.peer = peer;
            this.data = data;
            this.truncated = truncated;
            this.due = due;
        }
    }

    final int index;
    final Counters counters = new Counters();
    /** Drops counted by other threads (a full queue seen by a sender). */
    final AtomicLong foreignSendQueueFull = new AtomicLong();
    final AtomicLong foreignMailboxFull = new AtomicLong();

    private final ServerEngine engine;
    private final ServerConfig config;
    private final Transport transport;
    private final Handler<Object> handler;
    private final SegmentHandler segmentHandler;
    private final long readTimeoutNanos;
    private final long retryWaitNanos;
    private final ConcurrentHashMap<PeerKey, SessionImpl> sessions = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Command> commands = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queuedCommands = new AtomicInteger();
    private final ArrayDeque<Retry> retries = new ArrayDeque<>();
    private final Set<PeerKey> retryPeers = new HashSet<>();
    private final TimerWheel wheel;
    private final Consumer<SessionImpl> onExpired = s -> end(s, End.TIMEOUT, null);

    private volatile Thread thread;
    private volatile boolean suspended;
    private volatile boolean stopRequested;
    private volatile long stopDeadline = Long.MAX_VALUE;
    private boolean receivingStopped;
    private long now;

    Acceptor(ServerEngine engine, int index, ServerConfig config, Transport transport) {
        this.engine = engine;
        this.index = index;
        this.config = config;
        this.transport = transport;
        this.handler = config.handler();
        this.segmentHandler = config.segmentHandler();
        this.readTimeoutNanos = config.readTimeout().toNanos();
        this.retryWaitNanos = config.maxConnectionsRetryWait().toNanos();
        this.now = System.nanoTime();
        this.wheel = new TimerWheel(now);
    }

    SocketAddress localAddress() {
        return transport.localAddress();
    }

    int liveSessions() {
        return sessions.size();
    }

    SessionImpl session(PeerKey key) {
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

    /** Frees the transport of an acceptor whose thread was never started (a failed start). */
    void closeUnstarted() {
        transport.close();
    }

    boolean isOwnerThread() {
        return Thread.currentThread() == thread;
    }

    // ---- the loop ------------------------------------------------------------------------------

    @Override
    public void run() {
        thread = Thread.currentThread();
        try {
            loop();
        } catch (Throwable t) {
            LOG.error("acceptor {} failed; its sessions end with handleShutdown", index, t);
        } finally {
            now = System.nanoTime();
            for (SessionImpl s : sessions.values()) {
                end(s, End.SHUTDOWN, null);
            }
            drainCommands(); // sends queued by handleShutdown from other threads are attempted too
            transport.flush(this);
            counters.add(Counters.DROPPED_TABLE_FULL, retries.size());
            retries.clear();
            transport.close();
            engine.acceptorExited(this);
        }
    }

    private void loop() {
        while (true) {
            now = System.nanoTime();
            if (stopRequested) {
                if (!receivingStopped) {
                    transport.stopReceiving();
                    receivingStopped = true;
                }
                if ((sessions.isEmpty() && commands.isEmpty()) || now - stopDeadline >= 0) {
                    return;
                }
            }
            int ready = transport.await(waitMillis());
            now = System.nanoTime();
            if ((ready & Transport.READABLE) != 0) {
                for (int round = 0; round < RECEIVE_ROUNDS; round++) {
                    int n = transport.receive(this);
                    if (n < 0) {
                        counters.increment(Counters.RECEIVE_ERRORS);
                    }
                    transport.flush(this);
                    if (n < config.receiveBatchSize()) {
                        break;
                    }
                }
            }
            drainCommands();
            processRetries();
            wheel.advance(now, onExpired);
            transport.flush(this);
        }
    }

    private int waitMillis() {
        int wait = wheel.millisToNextTick(now);
        if (!retries.isEmpty()) {
            wait = min(wait, (int) Math.max(0, (retries.peekFirst().due - now + 999_999) / 1_000_000));
        }
        if (stopRequested) {
            wait = min(wait, (int) Math.max(0, Math.min(100, (stopDeadline - now + 999_999) / 1_000_000)));
        }
        return wait;
    }

    private static int min(int a, int b) {
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }

    // ---- receive path (inline) -----------------------------------------------------------------

    @Override
    public void onDatagram(PeerKey peer, MemorySegment data, boolean truncated) {
        counters.increment(Counters.DATAGRAMS_IN);
        counters.add(Counters.BYTES_IN, data.byteSize());
        if (truncated) {
            counters.increment(Counters.TRUNCATED);
            if (config.truncationPolicy() == TruncationPolicy.DROP) {
                return;
            }
        }
        SessionImpl s = sessions.get(peer);
        if (s == null) {
            if (suspended) {
                counters.increment(Counters.DROPPED_SUSPENDED);
                return;
            }
            if (!retryPeers.isEmpty() && retryPeers.contains(peer)) {
                queueRetry(peer, data, truncated); // keep this peer's datagrams in order
                return;
            }
            if (!engine.tryReserveSession()) {
                queueRetry(peer, data, truncated);
                return;
            }
            s = open(peer.copy());
            if (s == null) {
                return;
            }
        }
        deliver(s, data, truncated);
    }

    private SessionImpl open(PeerKey key) {
        SessionImpl s = new SessionImpl(this, key, key.toSocketAddress(), config.handlerOptions(), readTimeoutNanos);
        sessions.put(key, s);
        counters.increment(Counters.SESSIONS_OPENED);
        s.deadlineNanos = now + s.timeoutNanos;
        wheel.schedule(s);
        if (handler != null) {
            HandlerResult<Object> r;
            try {
                r = handler.handleConnection(s, s.state);
            } catch (Throwable t) {
                end(s, End.ERROR, t);
                return null;
            }
            apply(s, r);
        }
        return s.isOpenLocal() ? s : null;
    }

    private void deliver(SessionImpl s, MemorySegment data, boolean truncated) {
        s.countReceived((int) data.byteSize());
        s.deadlineNanos = now + s.timeoutNanos; // a one-shot timeout ends with the next datagram
        s.truncatedNow = truncated;
        try {
            if (segmentHandler != null) {
                segmentHandler.handle(s, data);
            } else {
                apply(s, handler.handleData(s, data, s.state));
            }
        } catch (Throwable t) {
            end(s, End.ERROR, t);
        } finally {
            s.truncatedNow = false;
        }
    }

    private void apply(SessionImpl s, HandlerResult<Object> result) {
        switch (result) {
            case HandlerResult.Continue<Object> c -> {
                s.state = c.state();
                if (c.timeoutNanos() >= 0) {
                    if (c.persistent()) {
                        s.timeoutNanos = c.timeoutNanos();
                    }
                    s.deadlineNanos = now + c.timeoutNanos();
                    wheel.deadlineChanged(s);
                }
            }
            case HandlerResult.Close<Object> c -> {
                s.state = c.state();
                end(s, End.CLOSE, null);
            }
            case HandlerResult.Error<Object> e -> {
                s.state = e.state();
                end(s, End.ERROR, e.reason());
            }
            case null -> end(s, End.ERROR, new NullPointerException("handler returned null instead of a HandlerResult"));
        }
    }

    // ---- ending sessions -----------------------------------------------------------------------

    private void end(SessionImpl s, End how, Object reason) {
        if (!s.isOpenLocal()) {
            return;
        }
        // timeout and shutdown callbacks run before the session closes: they may still send
        if (handler != null && (how == End.TIMEOUT || how == End.SHUTDOWN)) {
            terminal(s, how, reason);
        }
        if (!s.markClosed()) {
            return;
        }
        sessions.remove(s.key);
        engine.releaseSession();
        counters.increment(Counters.SESSIONS_CLOSED);
        if (how == End.ERROR) {
            counters.increment(Counters.HANDLER_ERRORS);
            if (!config.silentTerminateOnError()) {
                if (reason instanceof Throwable t) {
                    LOG.error("session {} ended in error", s.remoteAddress(), t);
                } else {
                    LOG.error("session {} ended in error: {}", s.remoteAddress(), reason);
                }
            }
        }
        if (handler != null && (how == End.CLOSE || how == End.ERROR)) {
            terminal(s, how, reason);
        }
    }

    private void terminal(SessionImpl s, End how, Object reason) {
        try {
            switch (how) {
                case CLOSE -> handler.handleClose(s.state);
                case ERROR -> handler.handleError(reason, s.state);
                case TIMEOUT -> handler.handleTimeout(s.state);
                case SHUTDOWN -> handler.handleShutdown(s.state);
                case USER -> {
                }
            }
        } catch (Throwable t) {
            LOG.error("{} callback of session {} threw; ignored", how, s.remoteAddress(), t);
        }
    }

    // ---- table-full retries --------------------------------------------------------------------

    private void queueRetry(PeerKey peer, MemorySegment data, boolean truncated) {
        if (config.maxConnectionsRetryCount() == 0 || retries.size() >= MAX_PENDING_RETRIES || stopRequested) {
            counters.increment(Counters.DROPPED_TABLE_FULL);
            return;
        }
        PeerKey key = peer.copy();
        retries.addLast(new Retry(key, data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), truncated, now + retryWaitNanos));
        retryPeers.add(key);
    }

    private void processRetries() {
        while (!retries.isEmpty() && retries.peekFirst().due - now <= 0) {
            Retry r = retries.pollFirst();
            SessionImpl s = sessions.get(r.peer);
            if (s == null && engine.tryReserveSession()) {
                s = open(r.peer);
                if (s == null) {
                    forgetRetryPeer(r.peer);
                    continue;
                }
            }
            if (s != null) {
                forgetRetryPeer(r.peer);
                deliver(s, MemorySegment.ofArray(r.data).asReadOnly(), r.truncated);
            } else if (++r.attempts >= config.maxConnectionsRetryCount()) {
                counters.increment(Counters.DROPPED_TABLE_FULL);
                forgetRetryPeer(r.peer);
            } else {
                r.due = now + retryWaitNanos;
                retries.addLast(r);
            }
        }
    }

    private void forgetRetryPeer(PeerKey peer) {
        for (Retry r : retries) {
            if (r.peer.equals(peer)) {
                return; // more datagrams of this peer wait
            }
        }
        retryPeers.remove(peer);
    }

    // ---- sends, posts and closes from any thread -----------------------------------------------

    boolean send(SessionImpl s, MemorySegment data, long offset, long length) {
        if (length > ServerConfig.MAX_UDP_PAYLOAD) {
            throw new IllegalArgumentException("datagram of " + length + " bytes is larger than UDP allows ("
                    + ServerConfig.MAX_UDP_PAYLOAD + " at most)");
        }
        if (!s.isOpen()) {
            return false;
        }
        if (isOwnerThread()) {
            if (!transport.send(s.key, data, offset, (int) length, this)) {
                counters.increment(Counters.SEND_QUEUE_FULL);
                return false;
            }
            s.countSent((int) length);
            return true;
        }
        byte[] copy = data.asSlice(offset, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        if (!enqueue(new SendCommand(s, copy), config.sendQueueCapacity())) {
            foreignSendQueueFull.incrementAndGet();
            return false;
        }
        return true;
    }

    boolean post(SessionImpl s, Object message) {
        if (handler == null) {
            throw new IllegalStateException("post() needs a Handler: a SegmentHandler has no handleMessage");
        }
        if (!s.isOpen()) {
            return false;
        }
        if (!enqueue(new PostCommand(s, message), config.mailboxCapacity())) {
            foreignMailboxFull.incrementAndGet();
            return false;
        }
        return true;
    }

    void closeFromUser(SessionImpl s) {
        if (isOwnerThread()) {
            end(s, End.USER, null);
        } else if (s.isOpen()) {
            commands.offer(new CloseCommand(s)); // never refused: a close must not be lost
            transport.wakeup();
        }
    }

    private boolean enqueue(Command c, int capacity) {
        if (queuedCommands.incrementAndGet() > capacity) {
            queuedCommands.decrementAndGet();
            return false;
        }
        commands.offer(c);
        transport.wakeup();
        return true;
    }

    private void drainCommands() {
        Command c;
        while ((c = commands.poll()) != null) {
            switch (c) {
                case SendCommand(SessionImpl s, byte[] data) -> {
                    queuedCommands.decrementAndGet();
                    if (s.isOpenLocal()) {
                        if (transport.send(s.key, MemorySegment.ofArray(data), 0, data.length, this)) {
                            s.countSent(data.length);
                        } else {
                            counters.increment(Counters.SEND_QUEUE_FULL);
                        }
                    }
                }
                case PostCommand(SessionImpl s, Object message) -> {
                    queuedCommands.decrementAndGet();
                    if (s.isOpenLocal()) {
                        s.deadlineNanos = now + s.timeoutNanos; // a message counts as activity
                        try {
                            apply(s, handler.handleMessage(s, message, s.state));
                        } catch (Throwable t) {
                            end(s, End.ERROR, t);
                        }
                    }
                }
                case CloseCommand(SessionImpl s) -> end(s, End.USER, null);
            }
        }
    }

    // ---- Transport.SendResult ------------------------------------------------------------------

    @Override
    public void sent(int entry, int bytes) {
        counters.increment(Counters.DATAGRAMS_OUT);
        counters.add(Counters.BYTES_OUT, bytes);
    }

    @Override
    public void failed(int entry, int errno) {
        counters.increment(Counters.SEND_ERRORS);
    }
}
