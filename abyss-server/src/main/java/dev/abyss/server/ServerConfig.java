package dev.abyss.server;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything {@link Abyss#start(ServerConfig)} needs: the options of the original's
 * {@code start_link/1}, validated when {@link Builder#build()} runs. A bad value fails there with
 * an {@link IllegalArgumentException} that names the option and the value.
 */
public final class ServerConfig {
    /** {@link Builder#numConnections(int)} value for no cap. */
    public static final int UNLIMITED = -1;
    /** Largest UDP payload over IPv6 (65,535 minus the 8-byte UDP header); over IPv4 it is 65,507. */
    public static final int MAX_UDP_PAYLOAD = 65_527;
    static final int MAX_UNIX_PATH = 107;

    private final Handler<Object> handler;
    private final SegmentHandler segmentHandler;
    private final DatagramHandler datagramHandler;
    private final FullTablePolicy fullTablePolicy;
    private final Object handlerOptions;
    private final java.util.function.Supplier<?> initialState;
    private final SocketAddress bindAddress;
    private final TransportKind transport;
    private final int receiveBufferSize;
    private final int sendBufferSize;
    private final boolean reuseAddress;
    private final boolean ipv6Only;
    private final int receiveBatchSize;
    private final int maxDatagramSize;
    private final TruncationPolicy truncationPolicy;
    private final boolean receiveTrafficClass;
    private final boolean receiveTimestamps;
    private final boolean gso;
    private final Boolean gro;
    private final boolean checkViews;
    private final int numAcceptors;
    private final int numConnections;
    private final int maxConnectionsRetryCount;
    private final Duration maxConnectionsRetryWait;
    private final Duration readTimeout;
    private final Duration shutdownTimeout;
    private final boolean silentTerminateOnError;
    private final DispatchMode dispatchMode;
    private final int mailboxCapacity;
    private final int sendQueueBytes;
    private final int retryBufferBytes;
    private final Duration inlineCallbackLimit;

    private ServerConfig(Builder b) {
        this.handler = b.handler;
        this.segmentHandler = b.segmentHandler;
        this.handlerOptions = b.handlerOptions;
        this.initialState = b.initialState;
        this.bindAddress = b.unixPath != null ? UnixDomainSocketAddress.of(b.unixPath) : new InetSocketAddress(b.ip, b.port);
        this.transport = b.transport;
        this.receiveBufferSize = b.receiveBufferSize;
        this.sendBufferSize = b.sendBufferSize;
        this.reuseAddress = b.reuseAddress;
        this.ipv6Only = b.ipv6Only;
        this.receiveBatchSize = b.receiveBatchSize;
        this.maxDatagramSize = b.maxDatagramSize;
        this.truncationPolicy = b.truncationPolicy;
        this.receiveTrafficClass = b.receiveTrafficClass;
        this.receiveTimestamps = b.receiveTimestamps;
        this.gso = b.gso;
        this.gro = b.gro;
        this.checkViews = b.checkViews;
        this.numAcceptors = b.numAcceptors;
        this.numConnections = b.numConnections;
        this.maxConnectionsRetryCount = b.maxConnectionsRetryCount;
        this.maxConnectionsRetryWait = b.maxConnectionsRetryWait;
        this.readTimeout = b.readTimeout;
        this.shutdownTimeout = b.shutdownTimeout;
        this.silentTerminateOnError = b.silentTerminateOnError;
        this.dispatchMode = b.dispatchMode;
        this.mailboxCapacity = b.mailboxCapacity;
        this.sendQueueBytes = b.sendQueueBytes;
        this.datagramHandler = b.datagramHandler;
        this.fullTablePolicy = b.fullTablePolicy;
        this.retryBufferBytes = b.retryBufferBytes;
        this.inlineCallbackLimit = b.inlineCallbackLimit;
    }

    /** {@return a builder with every option at its default} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the lifecycle handler, or null when a {@link SegmentHandler} or {@link DatagramHandler} is configured} */
    public Handler<Object> handler() {
        return handler;
    }

    /** {@return the stateless handler, or null when another kind is configured} */
    public DatagramHandler datagramHandler() {
        return datagramHandler;
    }

    /** {@return what a new peer gets when the table is full; default {@link FullTablePolicy#EVICT}} */
    public FullTablePolicy fullTablePolicy() {
        return fullTablePolicy;
    }

    /** {@return the raw per-session handler, or null when another kind is configured} */
    public SegmentHandler segmentHandler() {
        return segmentHandler;
    }

    /** {@return the initial state of every session (the original's handler_options), when no per-session supplier is set} */
    public Object handlerOptions() {
        return handlerOptions;
    }

    /**
     * {@return a new session's initial state: from the per-session supplier when one was given
     * ({@link Builder#sessionHandler(Handler, java.util.function.Supplier)}), else {@link #handlerOptions()}}
     */
    public Object newSessionState() {
        return initialState != null ? initialState.get() : handlerOptions;
    }

    /** {@return where to listen: an {@link InetSocketAddress} (port 0 = ephemeral) or a {@link UnixDomainSocketAddress}} */
    public SocketAddress bindAddress() {
        return bindAddress;
    }

    /** {@return the transport asked for ({@link Server#transport()} says what AUTO resolved to)} */
    public TransportKind transport() {
        return transport;
    }

    /** {@return SO_RCVBUF in bytes, 0 for the default} */
    public int receiveBufferSize() {
        return receiveBufferSize;
    }

    /** {@return SO_SNDBUF in bytes, 0 for the kernel default} */
    public int sendBufferSize() {
        return sendBufferSize;
    }

    /** {@return whether SO_REUSEADDR is set} */
    public boolean reuseAddress() {
        return reuseAddress;
    }

    /** {@return whether an IPv6 socket is IPV6_V6ONLY} */
    public boolean ipv6Only() {
        return ipv6Only;
    }

    /** {@return datagrams per receive call} */
    public int receiveBatchSize() {
        return receiveBatchSize;
    }

    /** {@return receive slot size in bytes} */
    public int maxDatagramSize() {
        return maxDatagramSize;
    }

    /** {@return what happens to a datagram longer than maxDatagramSize} */
    public TruncationPolicy truncationPolicy() {
        return truncationPolicy;
    }

    /** {@return whether each datagram's TOS / traffic class is read ({@link DatagramInfo#trafficClass()})} */
    public boolean receiveTrafficClass() {
        return receiveTrafficClass;
    }

    /** {@return whether each datagram's kernel receive time is read ({@link DatagramInfo#timestampNanos()})} */
    public boolean receiveTimestamps() {
        return receiveTimestamps;
    }

    /** {@return whether sends to one peer in one batch may be coalesced into one UDP_SEGMENT (GSO) send} */
    public boolean gso() {
        return gso;
    }

    /**
     * {@return whether sockets take coalesced receives (UDP_GRO), split again before delivery: by
     * default when maxDatagramSize is 65536, the largest a coalesced receive can be}
     */
    public boolean gro() {
        return gro != null ? gro : maxDatagramSize == 65_536;
    }

    /** {@return whether the debug mode of {@link Builder#checkViews(boolean)} is on} */
    public boolean checkViews() {
        return checkViews;
    }

    /** {@return the number of acceptor threads, each with its own socket} */
    public int numAcceptors() {
        return numAcceptors;
    }

    /** {@return the cap on live sessions, or {@link #UNLIMITED}} */
    public int numConnections() {
        return numConnections;
    }

    /** {@return retries of a new peer's datagram while the table is full} */
    public int maxConnectionsRetryCount() {
        return maxConnectionsRetryCount;
    }

    /** {@return time between those retries} */
    public Duration maxConnectionsRetryWait() {
        return maxConnectionsRetryWait;
    }

    /** {@return the idle timeout of a session} */
    public Duration readTimeout() {
        return readTimeout;
    }

    /** {@return how long {@link Server#close()} lets sessions finish} */
    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    /** {@return whether a session ended by an error goes unlogged} */
    public boolean silentTerminateOnError() {
        return silentTerminateOnError;
    }

    /** {@return where callbacks run} */
    public DispatchMode dispatchMode() {
        return dispatchMode;
    }

    /** {@return datagrams and messages a session may have waiting (see {@link Builder#mailboxCapacity(int)})} */
    public int mailboxCapacity() {
        return mailboxCapacity;
    }

    /** {@return bytes of each acceptor's cross-thread send queue (see {@link Builder#sendQueueBytes(int)})} */
    public int sendQueueBytes() {
        return sendQueueBytes;
    }

    /**
     * {@return off-heap bytes per acceptor for the datagrams of new peers that wait for a place in a full
     * table (see {@link Builder#retryBufferBytes(int)})}
     */
    public int retryBufferBytes() {
        return retryBufferBytes;
    }

    /**
     * How long an INLINE callback may run before its session is ended with handleError (a
     * {@link java.util.concurrent.TimeoutException} as the reason). A watchdog thread interrupts
     * the acceptor thread and logs where the callback was; a callback that ignores interrupts still
     * holds up the other sessions of its acceptor until it returns.
     *
     * @return the limit
     */
    public Duration inlineCallbackLimit() {
        return inlineCallbackLimit;
    }

    @Override
    public String toString() {
        return "ServerConfig[" + bindAddress + ", transport=" + transport + ", acceptors=" + numAcceptors
                + ", connections=" + (numConnections == UNLIMITED ? "unlimited" : numConnections)
                + ", dispatch=" + dispatchMode + ", readTimeout=" + readTimeout + "]";
    }

    /** Builds a {@link ServerConfig}; every setter checks its value at once, {@link #build()} checks the whole. */
    public static final class Builder {
        private Handler<Object> handler;
        private SegmentHandler segmentHandler;
        private DatagramHandler datagramHandler;
        private FullTablePolicy fullTablePolicy = FullTablePolicy.EVICT;
        private Object handlerOptions;
        private java.util.function.Supplier<?> initialState;
        private int port = 0;
        private InetAddress ip = InetAddress.getLoopbackAddress();
        private String unixPath;
        private TransportKind transport = TransportKind.AUTO;
        private int receiveBufferSize;
        private int sendBufferSize;
        private boolean reuseAddress = true;
        private boolean ipv6Only;
        private int receiveBatchSize = 64;
        private int maxDatagramSize = 65_536;
        private TruncationPolicy truncationPolicy = TruncationPolicy.DROP;
        private boolean receiveTrafficClass;
        private boolean receiveTimestamps;
        private boolean gso = true;
        private Boolean gro;
        private boolean checkViews;
        private int numAcceptors = Runtime.getRuntime().availableProcessors();
        private int numConnections = 16_384;
        private int maxConnectionsRetryCount = 5;
        private Duration maxConnectionsRetryWait = Duration.ofSeconds(1);
        private Duration readTimeout = Duration.ofSeconds(60);
        private Duration shutdownTimeout = Duration.ofSeconds(15);
        private boolean silentTerminateOnError;
        private DispatchMode dispatchMode = DispatchMode.INLINE;
        private int mailboxCapacity = 1024;
        private int sendQueueBytes = 4 << 20;
        private int retryBufferBytes = 1 << 20;
        private Duration inlineCallbackLimit = Duration.ofSeconds(1);

        private Builder() {
        }

        /**
         * The session handler; every session starts with {@code handlerOptions} as its state.
         *
         * @param handler        the handler of every session
         * @param handlerOptions every session's initial state
         * @param <S>            the session state type
         * @return this builder
         */
        @SuppressWarnings("unchecked")
        public <S> Builder handler(Handler<S> handler, S handlerOptions) {
            this.handler = (Handler<Object>) Objects.requireNonNull(handler, "handler");
            this.segmentHandler = null;
            this.datagramHandler = null;
            this.handlerOptions = handlerOptions;
            this.initialState = null;
            return this;
        }

        /**
         * The session handler, each session starting with its own state from {@code initialState}
         * (called once per new session, on the thread that opens it): the safe choice when the state
         * is mutable, where one shared {@code handlerOptions} object would be a trap. The compiler
         * checks that the handler and the supplier agree on the state type.
         *
         * @param handler      the handler of every session
         * @param initialState makes each new session's initial state
         * @param <S>          the session state type
         * @return this builder
         */
        @SuppressWarnings("unchecked")
        public <S> Builder sessionHandler(Handler<S> handler, java.util.function.Supplier<? extends S> initialState) {
            handler(handler, (S) null);
            this.initialState = Objects.requireNonNull(initialState, "initialState");
            return this;
        }

        /**
         * The session handler, with null as every session's initial state.
         *
         * @param handler the handler of every session
         * @return this builder
         */
        @SuppressWarnings("unchecked")
        public Builder handler(Handler<?> handler) {
            return handler((Handler<Object>) handler, null);
        }

        /**
         * The raw zero-copy handler instead of a {@link Handler} (forces INLINE dispatch).
         *
         * @param handler called for every datagram
         * @return this builder
         */
        public Builder segmentHandler(SegmentHandler handler) {
            this.segmentHandler = Objects.requireNonNull(handler, "segmentHandler");
            this.handler = null;
            this.datagramHandler = null;
            return this;
        }

        /**
         * Serves request/response without sessions (see {@link DatagramHandler}): no table, no
         * timers, nothing allocated per datagram. Replaces a {@link Handler} or {@link SegmentHandler}
         * set before; runs INLINE.
         *
         * @param handler called for every datagram
         * @return this builder
         */
        public Builder datagramHandler(DatagramHandler handler) {
            this.datagramHandler = Objects.requireNonNull(handler, "datagramHandler");
            this.handler = null;
            this.segmentHandler = null;
            return this;
        }

        /**
         * What a new peer gets when the table is at numConnections; default {@link FullTablePolicy#EVICT}.
         *
         * @param policy EVICT or REFUSE
         * @return this builder
         */
        public Builder fullTablePolicy(FullTablePolicy policy) {
            this.fullTablePolicy = Objects.requireNonNull(policy, "fullTablePolicy");
            return this;
        }

        /**
         * UDP port, 0..65535; 0 lets the kernel pick (see {@link Server#localAddress()}). Default 0.
         *
         * @param port 0..65535
         * @return this builder
         */
        public Builder port(int port) {
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port must be 0..65535, was " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * The IP address to listen on (IPv4 or IPv6). Default: loopback.
         *
         * @param address a local IPv4 or IPv6 address, or a wildcard
         * @return this builder
         */
        public Builder bindAddress(InetAddress address) {
            this.ip = Objects.requireNonNull(address, "bindAddress");
            this.unixPath = null;
            return this;
        }

        /**
         * Listen on every interface ({@code ::}, dual-stack unless ipv6Only).
         *
         * @return this builder
         */
        public Builder bindAny() {
            return bindAddress(new InetSocketAddress(0).getAddress());
        }

        /**
         * Listen on loopback only (the default).
         *
         * @return this builder
         */
        public Builder bindLoopback() {
            return bindAddress(InetAddress.getLoopbackAddress());
        }

        /**
         * Listen on an AF_UNIX datagram socket at {@code path} (port must stay 0). A path starting
         * with {@code '@'} is an abstract name. At most 107 bytes.
         *
         * @param path a filesystem path, or {@code @name} for an abstract name
         * @return this builder
         */
        public Builder bindUnix(String path) {
            Objects.requireNonNull(path, "path");
            int bytes = path.getBytes(StandardCharsets.UTF_8).length - (path.startsWith("@") ? 1 : 0);
            if (path.isEmpty() || bytes > MAX_UNIX_PATH) {
                throw new IllegalArgumentException("AF_UNIX path must be 1.." + MAX_UNIX_PATH
                        + " bytes (sockaddr_un.sun_path), was " + bytes + ": '" + path + "'");
            }
            this.unixPath = path;
            return this;
        }

        /**
         * The kernel interface: {@link TransportKind#AUTO} (default: the best that works here),
         * {@link TransportKind#IO_URING}, {@link TransportKind#EPOLL} or {@link TransportKind#NIO}.
         *
         * @param transport the transport kind
         * @return this builder
         */
        public Builder transport(TransportKind transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /**
         * SO_RCVBUF in bytes; 0 keeps the kernel default.
         *
         * @param bytes 0 or more
         * @return this builder
         */
        public Builder receiveBufferSize(int bytes) {
            this.receiveBufferSize = nonNegative("receiveBufferSize", bytes);
            return this;
        }

        /**
         * SO_SNDBUF in bytes; 0 keeps the kernel default.
         *
         * @param bytes 0 or more
         * @return this builder
         */
        public Builder sendBufferSize(int bytes) {
            this.sendBufferSize = nonNegative("sendBufferSize", bytes);
            return this;
        }

        /**
         * SO_REUSEADDR; default true, as in the original.
         *
         * @param on whether to set SO_REUSEADDR
         * @return this builder
         */
        public Builder reuseAddress(boolean on) {
            this.reuseAddress = on;
            return this;
        }

        /**
         * IPV6_V6ONLY for an IPv6 bind address; default false (dual stack).
         *
         * @param on whether an IPv6 socket refuses IPv4-mapped peers
         * @return this builder
         */
        public Builder ipv6Only(boolean on) {
            this.ipv6Only = on;
            return this;
        }

        /**
         * Datagrams per recvmmsg, 1..1024; default 64.
         *
         * @param n 1..1024
         * @return this builder
         */
        public Builder receiveBatchSize(int n) {
            this.receiveBatchSize = inRange("receiveBatchSize", n, 1, 1024);
            return this;
        }

        /**
         * Receive slot size in bytes, 1..65536; default 65536, so no UDP datagram is ever cut.
         *
         * @param bytes 1..65536
         * @return this builder
         */
        public Builder maxDatagramSize(int bytes) {
            this.maxDatagramSize = inRange("maxDatagramSize", bytes, 1, 65_536);
            return this;
        }

        /**
         * What happens to a datagram longer than maxDatagramSize: {@link TruncationPolicy#DROP} (default,
         * counted) or {@link TruncationPolicy#DELIVER} (cut, flagged).
         *
         * @param policy the policy
         * @return this builder
         */
        public Builder truncationPolicy(TruncationPolicy policy) {
            this.truncationPolicy = Objects.requireNonNull(policy, "truncationPolicy");
            return this;
        }

        /**
         * Reads the IPv4 TOS / IPv6 traffic class byte of every received datagram (IP_RECVTOS,
         * IPV6_RECVTCLASS), so a handler sees its ECN bits in {@link DatagramInfo#trafficClass()};
         * default off (it reads as -1). Native transports only; NIO ignores it.
         *
         * @param on whether to read it
         * @return this builder
         */
        public Builder receiveTrafficClass(boolean on) {
            this.receiveTrafficClass = on;
            return this;
        }

        /**
         * Asks the kernel for the time it received each datagram (SO_TIMESTAMPNS), in
         * {@link DatagramInfo#timestampNanos()}; default off (it reads as -1). Native transports
         * only; NIO ignores it.
         *
         * @param on whether to ask for timestamps
         * @return this builder
         */
        public Builder receiveTimestamps(boolean on) {
            this.receiveTimestamps = on;
            return this;
        }

        /**
         * Generic segmentation offload for sends, default on: datagrams sent to the same peer in one
         * batch, with the same source, traffic class and size (the last may be shorter), leave in one
         * kernel send with a UDP_SEGMENT control message (up to 64 segments, 64 KiB); the kernel
         * cuts them into separate datagrams. A socket whose kernel refuses it (EIO, EINVAL) falls
         * back to one send per datagram, said once in the log. Native transports only.
         *
         * @param on whether to coalesce
         * @return this builder
         */
        public Builder gso(boolean on) {
            this.gso = on;
            return this;
        }

        /**
         * Generic receive offload (UDP_GRO): the kernel may hand a burst of equal datagrams from one
         * peer over as one coalesced receive, which the server splits at its segment size and
         * delivers as the separate datagrams they were (views into the one buffer,
         * {@link DatagramInfo#segmentSize()} says so). Default: on when maxDatagramSize is 65536,
         * as a coalesced receive can be up to 64 KiB; on with a smaller maxDatagramSize is refused by
         * {@link #build()}. Native transports only.
         *
         * @param on whether to take coalesced receives
         * @return this builder
         */
        public Builder gro(boolean on) {
            this.gro = on;
            return this;
        }

        /**
         * Debug mode for INLINE handlers, default off: the datagram view handed to a callback dies
         * when the callback returns, so code that keeps it (or hands it to another thread) fails at
         * once with {@link IllegalStateException} or {@link WrongThreadException} instead of
         * silently reading a later datagram. Costs a small allocation per datagram: for tests.
         *
         * @param on whether to check views
         * @return this builder
         */
        public Builder checkViews(boolean on) {
            this.checkViews = on;
            return this;
        }

        /**
         * Acceptor threads, each with its own SO_REUSEPORT socket, 1..1024; default: available processors.
         *
         * @param n 1..1024
         * @return this builder
         */
        public Builder numAcceptors(int n) {
            this.numAcceptors = inRange("numAcceptors", n, 1, 1024);
            return this;
        }

        /**
         * Cap on live sessions (0 refuses every new peer), or {@link #UNLIMITED}; default 16,384.
         *
         * @param n 0 or more, or {@link #UNLIMITED}
         * @return this builder
         */
        public Builder numConnections(int n) {
            if (n < 0 && n != UNLIMITED) {
                throw new IllegalArgumentException("numConnections must be >= 0 or UNLIMITED (-1), was " + n);
            }
            this.numConnections = n;
            return this;
        }

        /**
         * No cap on live sessions: {@code numConnections(UNLIMITED)}.
         *
         * @return this builder
         */
        public Builder unlimitedConnections() {
            return numConnections(UNLIMITED);
        }

        /**
         * Retries of a new peer's datagram while the table is full; default 5.
         *
         * @param n 0 or more
         * @return this builder
         */
        public Builder maxConnectionsRetryCount(int n) {
            this.maxConnectionsRetryCount = nonNegative("maxConnectionsRetryCount", n);
            return this;
        }

        /**
         * Time between those retries; default 1 s.
         *
         * @param wait not negative
         * @return this builder
         */
        public Builder maxConnectionsRetryWait(Duration wait) {
            this.maxConnectionsRetryWait = nonNegative("maxConnectionsRetryWait", wait);
            return this;
        }

        /**
         * Idle timeout of a session; default 60 s.
         *
         * @param timeout positive
         * @return this builder
         */
        public Builder readTimeout(Duration timeout) {
            this.readTimeout = positive("readTimeout", timeout);
            return this;
        }

        /**
         * How long {@link Server#close()} lets sessions finish; default 15 s.
         *
         * @param timeout not negative
         * @return this builder
         */
        public Builder shutdownTimeout(Duration timeout) {
            this.shutdownTimeout = nonNegative("shutdownTimeout", timeout);
            return this;
        }

        /**
         * When true, a session ended by an error is not logged. Default false.
         *
         * @param silent whether to keep quiet
         * @return this builder
         */
        public Builder silentTerminateOnError(boolean silent) {
            this.silentTerminateOnError = silent;
            return this;
        }

        /**
         * Where callbacks run: {@link DispatchMode#INLINE} (default) or {@link DispatchMode#VIRTUAL_THREADS}.
         *
         * @param mode INLINE or VIRTUAL_THREADS
         * @return this builder
         */
        public Builder dispatchMode(DispatchMode mode) {
            this.dispatchMode = Objects.requireNonNull(mode, "dispatchMode");
            return this;
        }

        /**
         * Datagrams and posted messages a session may have waiting, 1..1,048,576; default 1024. Per
         * session in VIRTUAL_THREADS mode; in INLINE mode it bounds the messages posted to one
         * acceptor's sessions that wait for it. Past it, a datagram is dropped and counted in
         * {@link ServerStats#droppedMailboxFull()}, a post is refused and counted in
         * {@link ServerStats#postQueueFull()}.
         *
         * @param n 1..1,048,576
         * @return this builder
         */
        public Builder mailboxCapacity(int n) {
            this.mailboxCapacity = inRange("mailboxCapacity", n, 1, 1 << 20);
            return this;
        }

        /**
         * Size in bytes of each acceptor's off-heap queue for datagrams sent from other threads
         * (virtual threads, application threads): 262,144..1,073,741,824, rounded up to a power of
         * two; default 4 MiB. Each datagram takes its payload plus its peer address plus 8, rounded
         * up to 8. A send that finds the queue full returns SendResult.FULL and is counted in
         * {@link ServerStats#sendQueueFull()}.
         *
         * @param bytes 262,144..1,073,741,824
         * @return this builder
         */
        public Builder sendQueueBytes(int bytes) {
            this.sendQueueBytes = inRange("sendQueueBytes", bytes, 1 << 18, 1 << 30);
            return this;
        }

        /**
         * Off-heap bytes each acceptor sets aside, once, for the datagrams of new peers that wait
         * for a place in a full session table (maxConnectionsRetryCount): 65,536..1,073,741,824;
         * default 1 MiB. Any remote host can fill it, so it is the bound: a datagram takes its
         * payload plus 16, rounded up to 8; at most 4,096 wait per acceptor; beyond either bound a
         * datagram is dropped at once and counted in {@link ServerStats#droppedTableFull()}.
         *
         * @param bytes 65,536..1,073,741,824
         * @return this builder
         */
        public Builder retryBufferBytes(int bytes) {
            this.retryBufferBytes = inRange("retryBufferBytes", bytes, 1 << 16, 1 << 30);
            return this;
        }

        /**
         * How long an INLINE callback may run before its session ends with handleError; default 1 s. See {@link ServerConfig#inlineCallbackLimit()}.
         *
         * @param limit positive
         * @return this builder
         */
        public Builder inlineCallbackLimit(Duration limit) {
            this.inlineCallbackLimit = positive("inlineCallbackLimit", limit);
            return this;
        }

        /**
         * Checks the options together and returns the config.
         *
         * @return the config
         * @throws IllegalArgumentException when the options do not fit together (no handler, a port with an AF_UNIX address, a SegmentHandler or DatagramHandler with VIRTUAL_THREADS dispatch)
         */
        public ServerConfig build() {
            if (handler == null && segmentHandler == null && datagramHandler == null) {
                throw new IllegalArgumentException("handler: none set (call handler(...), segmentHandler(...) or datagramHandler(...))");
            }
            if (datagramHandler != null && dispatchMode != DispatchMode.INLINE) {
                throw new IllegalArgumentException("dispatchMode " + dispatchMode + " needs a Handler; a DatagramHandler runs INLINE");
            }
            if (unixPath != null && port != 0) {
                throw new IllegalArgumentException("port must be 0 with an AF_UNIX bind address, was " + port);
            }
            if (segmentHandler != null && dispatchMode != DispatchMode.INLINE) {
                throw new IllegalArgumentException("dispatchMode " + dispatchMode + " needs a Handler; a SegmentHandler runs INLINE");
            }
            if (Boolean.TRUE.equals(gro) && maxDatagramSize != 65_536) {
                throw new IllegalArgumentException("gro needs maxDatagramSize 65536 (a coalesced receive is up to 64 KiB), was "
                        + maxDatagramSize);
            }
            return new ServerConfig(this);
        }

        private static int nonNegative(String option, int v) {
            if (v < 0) {
                throw new IllegalArgumentException(option + " must be >= 0, was " + v);
            }
            return v;
        }

        private static int inRange(String option, int v, int min, int max) {
            if (v < min || v > max) {
                throw new IllegalArgumentException(option + " must be " + min + ".." + max + ", was " + v);
            }
            return v;
        }

        private static Duration nonNegative(String option, Duration d) {
            Objects.requireNonNull(d, option);
            if (d.isNegative()) {
                throw new IllegalArgumentException(option + " must not be negative, was " + d);
            }
            return d;
        }

        private static Duration positive(String option, Duration d) {
            Objects.requireNonNull(d, option);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(option + " must be positive, was " + d);
            }
            return d;
        }
    }
}
