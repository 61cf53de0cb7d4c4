package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.SendResult;
import dev.abyss.server.InheritedSocket;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.server.engine.admission.SessionCap;
import dev.abyss.server.engine.dispatch.CallbackWatchdog;
import dev.abyss.server.engine.dispatch.Callbacks;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.Drops;
import dev.abyss.server.engine.telemetry.ErrorLog;
import dev.abyss.server.engine.telemetry.Spans;
import dev.abyss.server.transport.AdoptedSocket;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.Transports;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** The running server behind {@link dev.abyss.server.Server}: its acceptors and the shared session cap. */
public final class ServerEngine {
    private static final Logger LOG = LoggerFactory.getLogger(ServerEngine.class);

    private final ServerConfig config;
    private final List<Acceptor> acceptors = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final SessionCap cap;
    private final CountDownLatch exited;
    private final SocketAddress localAddress;
    private final TransportKind transport;
    private volatile boolean stopped;
    private Thread watchdog;
    private final long spanContext = Spans.newSpanContext();
    private final long startedAt = System.nanoTime();
    private boolean listenerStopEmitted;
    private final ErrorLog errorLog = Callbacks.newErrorLog();

    private ServerEngine(ServerConfig config, TransportFactory factory, SessionLayer.Factory layers) throws IOException {
        this.config = config;
        this.transport = factory.kind();
        int connections = config.limits().numConnections();
        this.cap = new SessionCap(connections == ServerConfig.UNLIMITED ? SessionCap.UNLIMITED : connections);
        SocketAddress bindTo = config.socket().bindAddress();
        boolean unix = bindTo instanceof UnixDomainSocketAddress; // no SO_REUSEPORT: the config says one acceptor
        int n = config.limits().numAcceptors();
        List<InheritedSocket> inherited = config.inheritedSockets(); // one each: adopted, not bound
        try {
            for (int i = 0; i < n; i++) {
                Acceptor a = inherited.isEmpty()
                        ? new Acceptor(this, i, config, factory, bindTo, !unix, !unix && i == 0, cap, errorLog, layers)
                        : new Acceptor(this, i, config, factory,
                        new AdoptedSocket(inherited.get(i).fd(), inherited.get(i).localAddress()), false, false, cap, errorLog, layers);
                acceptors.add(a);
                if (i == 0 && bindTo instanceof InetSocketAddress inet && inet.getPort() == 0) {
                    bindTo = a.localAddress(); // the other acceptors join the port the kernel chose
                }
            }
            if (config.placement().steerByCpu() && n > 1) { // every socket bound: group index i is acceptor i
                acceptors.getFirst().steerByCpu(n);
            }
        } catch (IOException | RuntimeException e) {
            for (Acceptor a : acceptors) {
                a.closeUnstarted(); // no thread runs them yet: free their sockets here
            }
            throw e;
        }
        this.localAddress = acceptors.getFirst().localAddress();
        this.exited = new CountDownLatch(acceptors.size());
    }

    /** Opens every acceptor's socket on the configured transport and starts their threads. */
    public static ServerEngine start(ServerConfig config) throws IOException {
        return start(config, Transports.select(config.socket().transport()),
                config.dtls().map(dev.abyss.server.dtls.DtlsLayers::new).orElse(null));
    }

    /**
     * The two seams: starts a server on the transport {@code factory} opens (a socket transport, or
     * one that owns frames), with each session behind the layer {@code layers} opens (null: none).
     */
    public static ServerEngine start(ServerConfig config, TransportFactory factory, SessionLayer.Factory layers) throws IOException {
        TransportKind kind = factory.kind();
        if (kind == TransportKind.NIO && !config.inheritedSockets().isEmpty()) {
            throw new IllegalStateException("transport " + config.socket().transport() + " landed on NIO, which cannot adopt"
                    + " the inherited sockets (the JDK's DatagramChannel cannot wrap a descriptor): EPOLL or IO_URING is needed"
                    + (config.socket().transport() == TransportKind.AUTO ? "; epoll: " + Transports.unavailableReason(TransportKind.EPOLL)
                    + "; io_uring: " + Transports.unavailableReason(TransportKind.IO_URING) : ""));
        }
        logIgnored(config.socket(), effective(config.socket(), kind), kind);
        ServerEngine engine = new ServerEngine(config, factory, layers);
        for (Acceptor a : engine.acceptors) {
            Thread t = Thread.ofPlatform().name("abyss-acceptor-" + a.index).daemon(false).unstarted(a);
            engine.threads.add(t);
        }
        Spans.listenerStart(engine.spanContext, engine.localAddress, kind.name(), engine.transportOptions(), engine.startedAt);
        engine.threads.forEach(Thread::start);
        if (config.dispatch().mode() == DispatchMode.INLINE) {
            engine.watchdog = CallbackWatchdog.start(engine.acceptors.stream().map(a -> a.clock).toList(),
                    config.timeouts().inlineCallbackLimit(), engine.exited);
        }
        return engine;
    }

    /**
     * What the socket options come to on {@code kind}: NIO reads and writes no control messages and
     * sets no IPV6_V6ONLY, so those options are off there whatever was asked (build() refuses them
     * with an explicit NIO; AUTO landing on NIO is known only now).
     */
    private static ServerConfig.SocketOptions effective(ServerConfig.SocketOptions s, TransportKind kind) {
        if (kind != TransportKind.NIO) {
            return s;
        }
        return new ServerConfig.SocketOptions(s.bindAddress(), s.transport(), s.receiveBufferSize(), s.sendBufferSize(),
                s.reuseAddress(), false, s.receiveBatchSize(), s.maxDatagramSize(), s.truncationPolicy(), false, false, false, false);
    }

    /** The one line for what the config asked and the transport it landed on ignores: said at start, as only then is it known. */
    private static void logIgnored(ServerConfig.SocketOptions asked, ServerConfig.SocketOptions got, TransportKind kind) {
        List<String> ignored = new ArrayList<>();
        if (asked.gso() != got.gso()) {
            ignored.add("gso");
        }
        if (asked.gro() != got.gro()) {
            ignored.add("gro");
        }
        if (asked.receiveTrafficClass() != got.receiveTrafficClass()) {
            ignored.add("receiveTrafficClass (reads as -1)");
        }
        if (asked.receiveTimestamps() != got.receiveTimestamps()) {
            ignored.add("receiveTimestamps (reads as -1)");
        }
        if (asked.ipv6Only() != got.ipv6Only()) {
            ignored.add("ipv6Only");
        }
        if (!ignored.isEmpty()) {
            LOG.info("transport {} landed on {}, which ignores: {}", asked.transport(), kind, String.join(", ", ignored));
        }
    }

    long spanContext() {
        return spanContext;
    }

    /** The transport options as the listener span's {@code transport_options}. */
    Map<String, Object> transportOptions() {
        Map<String, Object> o = new LinkedHashMap<>();
        ServerConfig.SocketOptions socket = effective(config.socket(), transport);
        o.put("receive_buffer_size", socket.receiveBufferSize());
        o.put("send_buffer_size", socket.sendBufferSize());
        o.put("reuse_address", socket.reuseAddress());
        o.put("ipv6_only", socket.ipv6Only());
        o.put("receive_batch_size", socket.receiveBatchSize());
        o.put("max_datagram_size", socket.maxDatagramSize());
        o.put("gso", socket.gso());
        o.put("gro", socket.gro());
        o.put("receive_traffic_class", socket.receiveTrafficClass());
        o.put("receive_timestamps", socket.receiveTimestamps());
        o.put("num_acceptors", acceptors.size());
        return o;
    }

    public SocketAddress localAddress() {
        return localAddress;
    }

    public TransportKind transport() {
        return transport;
    }

    /** Why the server stopped by itself (an acceptor gave up), or null. */
    private volatile Throwable failure;

    /**
     * An acceptor gave up after repeated failures: the whole server stops (no deadline wait), so
     * no socket is left without its reader while the others go on.
     */
    void acceptorFailed(Acceptor failed, Throwable t) {
        failure = t;
        LOG.error("acceptor {} gave up; stopping every acceptor of the server on {}", failed.index, localAddress, t);
        synchronized (this) {
            stopped = true;
            for (Acceptor a : acceptors) {
                a.requestStop(System.nanoTime());
            }
        }
    }

    public Throwable failure() {
        return failure;
    }

    void acceptorExited(Acceptor a) {
        exited.countDown();
    }

    /** The sessions alive now, as the session cap counts them: one consistent figure for the stats. */
    public int liveSessions() {
        return cap.live();
    }

    public int sessions() {
        int n = 0;
        for (Acceptor a : acceptors) {
            n += a.sessions.size();
        }
        return n;
    }

    /** The live session of {@code peer}, or null. */
    public Session session(SocketAddress peer) {
        PeerKey key = new PeerKey().set(peer);
        Session s = find(key);
        if (s == null && key.v4Mapped() != null) {
            s = find(key.v4Mapped()); // an IPv4 peer of a dual-stack [::] socket is keyed as ::ffff:a.b.c.d
        }
        return s;
    }

    private Session find(PeerKey key) {
        for (Acceptor a : acceptors) {
            SessionImpl s = a.sessions.get(key);
            if (s != null) {
                return s;
            }
        }
        return null;
    }

    /** A datagram to {@code peer} without a session, through the acceptor its address hashes to. */
    public SendResult send(SocketAddress peer, java.lang.foreign.MemorySegment data, long offset, long length) {
        if (stopped) {
            return SendResult.CLOSED;
        }
        PeerKey key = new PeerKey().set(peer);
        if (key.family() == dev.abyss.ffi.net.Net.AF_INET && localAddress instanceof InetSocketAddress local
                && local.getAddress() instanceof java.net.Inet6Address) {
            key = key.v4Mapped(); // an IPv4 peer of a dual-stack socket is addressed as ::ffff:a.b.c.d
        }
        if (key.family() != dev.abyss.ffi.net.Net.AF_INET && localAddress instanceof InetSocketAddress local
                && local.getAddress() instanceof java.net.Inet4Address) {
            throw new IllegalArgumentException("peer " + peer + " is not an IPv4 address; this server listens on " + localAddress);
        }
        Acceptor a = acceptors.get(Math.floorMod(key.hashCode(), acceptors.size()));
        return a.outbox.sendTo(key, null, -1, data, offset, length);
    }

    /** Calls {@code action} for every live session (a weakly consistent view). */
    public void forEachSession(java.util.function.Consumer<? super Session> action) {
        for (Acceptor a : acceptors) {
            a.sessions.forEach(action);
        }
    }

    public void suspend(boolean on) {
        for (Acceptor a : acceptors) {
            a.admission.suspend(on);
        }
    }

    /**
     * Stops receiving at once, lets sessions finish until {@code timeout}, then ends the rest with
     * handleShutdown; returns when every acceptor thread has exited and freed its native memory.
     */
    public void stop(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            if (!stopped) {
                stopped = true;
                for (Acceptor a : acceptors) {
                    a.requestStop(deadline);
                }
            }
        }
        try {
            // the deadline, plus time for the terminal callbacks of the sessions still alive
            long waitNanos = Math.max(0, deadline - System.nanoTime()) + TimeUnit.SECONDS.toNanos(10);
            if (!exited.await(waitNanos, TimeUnit.NANOSECONDS)) {
                LOG.error("acceptor threads still running 10 s after the shutdown deadline (a handler blocks?)");
            }
            for (Thread t : threads) {
                t.join(1000);
            }
            if (watchdog != null) {
                watchdog.join(1000);
            }
            errorLog.flush();
            synchronized (this) {
                if (!listenerStopEmitted && exited.getCount() == 0) {
                    listenerStopEmitted = true;
                    Spans.listenerStop(spanContext, localAddress, transport.name(), transportOptions(), startedAt, System.nanoTime());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The acceptors' socket fds, for a handoff.
     *
     * @return one fd per acceptor, in acceptor order
     * @throws IllegalStateException when the server stopped, or a transport has no fd (NIO)
     */
    public synchronized int[] socketFds() {
        if (stopped) {
            throw new IllegalStateException("the server on " + localAddress + " stopped: no sockets to hand off");
        }
        int[] fds = new int[acceptors.size()];
        for (int i = 0; i < fds.length; i++) {
            fds[i] = acceptors.get(i).socketFd();
            if (fds[i] < 0) {
                throw new IllegalStateException("the " + transport + " transport cannot hand its sockets off"
                        + " (the JDK's DatagramChannel shows no descriptor): EPOLL or IO_URING is needed");
            }
        }
        return fds;
    }

    /** True when every acceptor freed its socket and native memory (after a stop). */
    public boolean nativeResourcesReleased() {
        return acceptors.stream().allMatch(Acceptor::released);
    }

    public boolean isStopped() {
        return stopped && exited.getCount() == 0;
    }

    /** The counters summed over the acceptors, one value per {@link dev.abyss.server.ServerStats.Counter}, by ordinal. */
    public long[] counters() {
        List<Drops> all = new ArrayList<>(acceptors.size());
        for (Acceptor a : acceptors) {
            all.add(a.drops);
        }
        return Counters.snapshot(all);
    }
}
