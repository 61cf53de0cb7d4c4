package dev.abyss.server;

import dev.abyss.server.HandlerChoice.Segments;
import dev.abyss.server.HandlerChoice.Sessions;
import dev.abyss.server.HandlerChoice.Stateless;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Everything {@link Abyss#start(ServerConfig)} needs: the options of the original's
 * {@code start_link/1}, in four groups ({@link #socket()}, {@link #limits()}, {@link #timeouts()},
 * {@link #dispatch()}) and the {@link #handler()} choice. Each option is documented once, on its
 * {@link Builder} method, with its default.
 *
 * <p>A config says what the server will do: {@link Builder#build()} refuses options that contradict
 * each other (naming both, with their values), and resolves every option it can to what it will be
 * (one acceptor for AF_UNIX, no offloads on NIO or AF_UNIX, GRO by maxDatagramSize). What it can
 * only know at start ({@link TransportKind#AUTO} landing on NIO) is said in one line of the log.
 */
public final class ServerConfig {
    /** {@link Builder#numConnections(int)} value for no cap. */
    public static final int UNLIMITED = -1;
    /**
     * Largest {@link Builder#maxDatagramSize(int)}: 64 KiB, what one coalesced (GRO) receive can
     * hold. A single UDP datagram is at most 65,527 bytes (IPv6; 65,507 over IPv4); what a send
     * accepts is {@link Peer#MAX_PAYLOAD_IPV4} or {@link Peer#MAX_PAYLOAD_IPV6}.
     */
    public static final int MAX_RECEIVE_SIZE = 65_536;
    static final int MAX_UNIX_PATH = 107;

    private final HandlerChoice handler;
    private final SocketOptions socket;
    private final Limits limits;
    private final Timeouts timeouts;
    private final DispatchOptions dispatch;
    private final List<InheritedSocket> inheritedSockets;
    private final CpuPlacement placement;
    private final Defences defences;
    private final ListenOptions listen;
    private final XdpOptions xdp;
    private final Dtls dtls;

    private ServerConfig(HandlerChoice handler, SocketOptions socket, Limits limits, Timeouts timeouts,
                         DispatchOptions dispatch, List<InheritedSocket> inheritedSockets, CpuPlacement placement,
                         Defences defences, ListenOptions listen, XdpOptions xdp, Dtls dtls) {
        this.defences = defences;
        this.listen = listen;
        this.xdp = xdp;
        this.dtls = dtls;
        this.inheritedSockets = inheritedSockets;
        this.placement = placement;
        this.handler = handler;
        this.socket = socket;
        this.limits = limits;
        this.timeouts = timeouts;
        this.dispatch = dispatch;
    }

    /** {@return a builder with every option at its default} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return which handler the server runs, and for sessions how each one's state starts} */
    public HandlerChoice handler() {
        return handler;
    }

    /** {@return where the server listens, its socket options and receive offloads} */
    public SocketOptions socket() {
        return socket;
    }

    /** {@return acceptors, sessions, and the bounds on what waits} */
    public Limits limits() {
        return limits;
    }

    /** {@return the session idle timeout, the shutdown grace and the INLINE callback limit} */
    public Timeouts timeouts() {
        return timeouts;
    }

    /** {@return where callbacks run, and how their errors and views are treated} */
    public DispatchOptions dispatch() {
        return dispatch;
    }

    /** {@return the AF_XDP transport's interface, queues, modes and UMEM (used by {@link TransportKind#XDP} only)} */
    public XdpOptions xdp() {
        return xdp;
    }

    /**
     * The AF_XDP transport's options ({@link TransportKind#XDP}); meaningful only with that transport.
     * Each component is documented on the {@link Builder} method that sets it.
     *
     * @param interfaceName     {@link Builder#xdpInterface(String)}; null: the interface that has the bind address
     * @param queues            {@link Builder#xdpQueues(int)}; 0: every RX queue of the interface
     * @param attach            {@link Builder#xdpAttach(XdpOptions.Attach)}
     * @param copy              {@link Builder#xdpCopy(XdpOptions.Copy)}
     * @param umemFrames        {@link Builder#xdpUmemFrames(int)}
     * @param ipv4UdpChecksum   {@link Builder#xdpIpv4UdpChecksum(boolean)}
     * @param verifyUdpChecksum {@link Builder#xdpVerifyUdpChecksum(boolean)}
     */
    public record XdpOptions(String interfaceName, int queues, Attach attach, Copy copy, int umemFrames,
                             boolean ipv4UdpChecksum, boolean verifyUdpChecksum) {
        /** Where the XDP program runs. */
        public enum Attach {
            /** In the driver where it has XDP (native mode), else generic. */
            AUTO,
            /** In the driver only: start fails where the driver has no XDP. */
            NATIVE,
            /** Generic (skb) mode: every interface, after the kernel has built its socket buffer. */
            GENERIC
        }

        /** How frames reach the UMEM. */
        public enum Copy {
            /** Zero-copy where the driver has it for the queue, else copy. */
            AUTO,
            /** Copy mode. */
            COPY,
            /** Zero-copy only: start fails where the driver has none. */
            ZERO_COPY
        }
    }

    /** {@return which CPU each acceptor thread runs on, and whether the kernel steers datagrams by CPU} */
    public CpuPlacement placement() {
        return placement;
    }

    /** {@return DTLS for every session ({@link Builder#dtls(Dtls)}), or empty: plaintext} */
    public java.util.Optional<Dtls> dtls() {
        return java.util.Optional.ofNullable(dtls);
    }

    /**
     * {@return the sockets the acceptors adopt, one each ({@link Builder#inheritedSockets(List)}),
     * or an empty list when the server creates and binds its own at {@link SocketOptions#bindAddress()}}
     */
    public List<InheritedSocket> inheritedSockets() {
        return inheritedSockets;
    }

    /** {@return the defences for the open internet: reply rate limits, the amplification limit, per-prefix quotas (all off by default)} */
    public Defences defences() {
        return defences;
    }

    /**
     * {@return the options of the reference's {@code transport_options} beyond the basics: typed
     * socket options, multicast groups, the network namespace}
     */
    public ListenOptions listen() {
        return listen;
    }

    @Override
    public String toString() {
        return "ServerConfig[" + handler + ", " + socket + ", " + limits + ", " + timeouts + ", " + dispatch + ", "
                + placement + ", " + defences + ", " + listen + (dtls != null ? ", " + dtls : "") + "]";
    }

    /**
     * Defences for a server on the open internet, where a datagram's source address is whatever its
     * sender wrote: reply rate limiting per source prefix, the amplification limit for peers not
     * validated, and the per-prefix session quota. All off by default in the library (the CLI's
     * {@code echo} and {@code reflector} turn the first two on). Each component is documented on
     * the {@link Builder} method that sets it; the README's "On the open internet" says how to size them.
     *
     * @param rateLimit          {@link Builder#rateLimit(int)}, 0: off
     * @param rateLimitBurst     {@link Builder#rateLimitBurst(int)}
     * @param rateLimitSlip      {@link Builder#rateLimitSlip(int)}, 0: no slips
     * @param ipv4PrefixLength   {@link Builder#sourcePrefixLengths(int, int)}
     * @param ipv6PrefixLength   {@link Builder#sourcePrefixLengths(int, int)}
     * @param amplificationLimit {@link Builder#amplificationLimit(int)}, 0: off
     * @param sessionsPerPrefix  {@link Builder#sessionsPerPrefix(int)}, 0: off
     * @param prefixTableSize    {@link Builder#prefixTableSize(int)}
     */
    public record Defences(int rateLimit, int rateLimitBurst, int rateLimitSlip, int ipv4PrefixLength, int ipv6PrefixLength,
                           int amplificationLimit, int sessionsPerPrefix, int prefixTableSize) {
        /** {@return true when a reply limit (rate or amplification) is on} */
        public boolean limitsReplies() {
            return rateLimit > 0 || amplificationLimit > 0;
        }
    }

    /**
     * The socket options of {@code :gen_udp}'s open options that the server sets on every acceptor's
     * socket before it binds, the multicast groups each joins, and the network namespace the sockets
     * are opened in. Each component is documented on the {@link Builder} method that sets it.
     *
     * @param options {@link Builder#socketOption}: option to value, in the order set (unmodifiable)
     * @param groups  {@link Builder#joinGroup(MulticastGroup)}, in the order joined (unmodifiable)
     * @param netns   {@link Builder#netns(String)}: a namespace name or path, or null for the process's own
     */
    public record ListenOptions(java.util.Map<UdpOption<?>, Object> options, List<MulticastGroup> groups, String netns) {
        /** No options, no groups, the process's namespace. */
        public static final ListenOptions NONE = new ListenOptions(java.util.Map.of(), List.of(), null);

        /** Copies the map (keeping its order) and the list, unmodifiable. */
        public ListenOptions {
            options = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(options));
            groups = List.copyOf(groups);
        }

        /**
         * {@return the value set for {@code option}, or null when it was not set (the kernel's default applies)}
         *
         * @param option an option
         * @param <T>    its type
         */
        public <T> T get(UdpOption<T> option) {
            return option.type().cast(options.get(option));
        }

        /** {@return true when nothing was set} */
        public boolean isEmpty() {
            return options.isEmpty() && groups.isEmpty() && netns == null;
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("ListenOptions[");
            options.forEach((k, v) -> b.append(k.name()).append('=').append(UdpOption.describe(v)).append(", "));
            b.append("groups=").append(groups);
            if (netns != null) {
                b.append(", netns=").append(netns);
            }
            return b.append(']').toString();
        }
    }

    /**
     * Where acceptor threads run and which acceptor the kernel hands each datagram to. Both off by
     * default. Each component is documented on the {@link Builder} method that sets it.
     *
     * @param acceptorCpus the CPU of each acceptor, by acceptor index ({@link Builder#pinAcceptors(boolean)},
     *                     {@link Builder#pinAcceptors(int...)}); empty when acceptors are not pinned
     * @param steerByCpu   {@link Builder#steerByCpu(boolean)}
     */
    public record CpuPlacement(List<Integer> acceptorCpus, boolean steerByCpu) {
        /** Copies the list (unmodifiable). */
        public CpuPlacement {
            acceptorCpus = List.copyOf(acceptorCpus);
        }

        /** {@return whether acceptor threads are pinned} */
        public boolean pinned() {
            return !acceptorCpus.isEmpty();
        }
    }

    /**
     * Where the server listens, the socket options, and what it reads from and asks of the kernel
     * per datagram. Each component is documented on the {@link Builder} method that sets it.
     *
     * @param bindAddress         an {@link InetSocketAddress} (port 0 = ephemeral) or a {@link UnixDomainSocketAddress}:
     *                            {@link Builder#bindAddress(InetAddress)}, {@link Builder#port(int)}, {@link Builder#bindUnix(String)}
     * @param transport           the kind asked for ({@link Server#transport()} says what AUTO became): {@link Builder#transport}
     * @param receiveBufferSize   {@link Builder#receiveBufferSize(int)}
     * @param sendBufferSize      {@link Builder#sendBufferSize(int)}
     * @param reuseAddress        {@link Builder#reuseAddress(boolean)}
     * @param ipv6Only            {@link Builder#ipv6Only(boolean)}
     * @param receiveBatchSize    {@link Builder#receiveBatchSize(int)}
     * @param maxDatagramSize     {@link Builder#maxDatagramSize(int)}
     * @param truncationPolicy    {@link Builder#truncationPolicy(TruncationPolicy)}
     * @param gso                 {@link Builder#gso(boolean)}
     * @param gro                 {@link Builder#gro(boolean)}
     * @param receiveTrafficClass {@link Builder#receiveTrafficClass(boolean)}
     * @param receiveTimestamps   {@link Builder#receiveTimestamps(boolean)}
     */
    public record SocketOptions(SocketAddress bindAddress, TransportKind transport, int receiveBufferSize,
                                int sendBufferSize, boolean reuseAddress, boolean ipv6Only, int receiveBatchSize,
                                int maxDatagramSize, TruncationPolicy truncationPolicy, boolean gso, boolean gro,
                                boolean receiveTrafficClass, boolean receiveTimestamps) {
    }

    /**
     * Acceptors, sessions, and the bounds on what may wait. Each component is documented on the
     * {@link Builder} method that sets it.
     *
     * @param numAcceptors             {@link Builder#numAcceptors(int)}
     * @param numConnections           {@link Builder#numConnections(int)}
     * @param fullTablePolicy          {@link Builder#fullTablePolicy(FullTablePolicy)}
     * @param maxConnectionsRetryCount {@link Builder#maxConnectionsRetryCount(int)}
     * @param maxConnectionsRetryWait  {@link Builder#maxConnectionsRetryWait(Duration)}
     * @param retryBufferBytes         {@link Builder#retryBufferBytes(int)}
     * @param sendQueueBytes           {@link Builder#sendQueueBytes(int)}
     * @param mailboxCapacity          {@link Builder#mailboxCapacity(int)}
     */
    public record Limits(int numAcceptors, int numConnections, FullTablePolicy fullTablePolicy,
                         int maxConnectionsRetryCount, Duration maxConnectionsRetryWait, int retryBufferBytes,
                         int sendQueueBytes, int mailboxCapacity) {
    }

    /**
     * How long things may take. Each component is documented on the {@link Builder} method that sets it.
     *
     * @param readTimeout         {@link Builder#readTimeout(Duration)}
     * @param shutdownTimeout     {@link Builder#shutdownTimeout(Duration)}
     * @param inlineCallbackLimit {@link Builder#inlineCallbackLimit(Duration)}
     */
    public record Timeouts(Duration readTimeout, Duration shutdownTimeout, Duration inlineCallbackLimit) {
    }

    /**
     * Where callbacks run and how they are watched. Each component is documented on the
     * {@link Builder} method that sets it.
     *
     * @param mode                   {@link Builder#dispatchMode(DispatchMode)}
     * @param checkViews             {@link Builder#checkViews(boolean)}
     * @param silentTerminateOnError {@link Builder#silentTerminateOnError(boolean)}
     */
    public record DispatchOptions(DispatchMode mode, boolean checkViews, boolean silentTerminateOnError) {
    }

    /**
     * Builds a {@link ServerConfig}. Every setter checks its value at once; {@link #build()} checks
     * the options together. An option never set takes its default, which never contradicts another
     * option: only what was set explicitly can be refused.
     */
    public static final class Builder {
        // null: not set, the default applies (resolved in build(), where the defaults live)
        private HandlerChoice handler;
        private int port;
        private InetAddress ip = InetAddress.getLoopbackAddress();
        private String unixPath;
        private TransportKind transport = TransportKind.AUTO;
        private Integer receiveBufferSize;
        private Integer sendBufferSize;
        private Boolean reuseAddress;
        private Boolean ipv6Only;
        private Integer receiveBatchSize;
        private Integer maxDatagramSize;
        private TruncationPolicy truncationPolicy;
        private Boolean receiveTrafficClass;
        private Boolean receiveTimestamps;
        private Boolean gso;
        private Boolean gro;
        private Integer numAcceptors;
        private Integer numConnections;
        private FullTablePolicy fullTablePolicy;
        private Integer maxConnectionsRetryCount;
        private Duration maxConnectionsRetryWait;
        private Integer retryBufferBytes;
        private Integer sendQueueBytes;
        private Integer mailboxCapacity;
        private Duration readTimeout;
        private Duration shutdownTimeout;
        private Duration inlineCallbackLimit;
        private DispatchMode dispatchMode;
        private Boolean checkViews;
        private Boolean silentTerminateOnError;
        private boolean addressSet; // bindAddress(...) called: refused with inherited sockets
        private List<InheritedSocket> inheritedSockets;
        private boolean pinAcceptors;
        private int[] pinCpus; // null: acceptor i on the i-th allowed CPU (modulo)
        private Boolean steerByCpu;
        // the defences for the open internet (null: not set)
        private Integer rateLimit;
        private Integer rateLimitBurst;
        private Integer rateLimitSlip;
        private Integer ipv4PrefixLength;
        private Integer ipv6PrefixLength;
        private Integer amplificationLimit;
        private Integer sessionsPerPrefix;
        private Integer prefixTableSize;
        private final java.util.LinkedHashMap<UdpOption<?>, Object> listenOptions = new java.util.LinkedHashMap<>();
        private final java.util.LinkedHashSet<MulticastGroup> groups = new java.util.LinkedHashSet<>();
        private String netns;
        // AF_XDP (transport XDP only)
        private String xdpInterface;
        private Integer xdpQueues;
        private XdpOptions.Attach xdpAttach;
        private XdpOptions.Copy xdpCopy;
        private Integer xdpUmemFrames;
        private Boolean xdpIpv4UdpChecksum;
        private Boolean xdpVerifyUdpChecksum;
        private Dtls dtls;

        private Builder() {
        }

        // ---- the handler: one of three, the last one set wins

        /**
         * The session handler ({@link HandlerChoice.Sessions}); every session starts with
         * {@code handlerOptions} as its state (the original's handler_options).
         *
         * @param handler        the handler of every session
         * @param handlerOptions every session's initial state
         * @param <S>            the session state type
         * @return this builder
         */
        public <S> Builder handler(Handler<S> handler, S handlerOptions) {
            this.handler = new Sessions<S>(handler, () -> handlerOptions);
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
        public <S> Builder sessionHandler(Handler<S> handler, Supplier<? extends S> initialState) {
            this.handler = new Sessions<S>(handler, initialState);
            return this;
        }

        /**
         * The session handler, with null as every session's initial state.
         *
         * @param handler the handler of every session
         * @return this builder
         */
        public Builder handler(Handler<?> handler) {
            this.handler = withNullState(handler);
            return this;
        }

        private static <S> Sessions<S> withNullState(Handler<S> handler) {
            return new Sessions<S>(handler, () -> null);
        }

        /**
         * The raw zero-copy handler ({@link HandlerChoice.Segments}) instead of a {@link Handler};
         * runs INLINE only.
         *
         * @param handler called for every datagram
         * @return this builder
         */
        public Builder segmentHandler(SegmentHandler handler) {
            this.handler = new Segments(handler);
            return this;
        }

        /**
         * Serves request/response without sessions ({@link HandlerChoice.Stateless}, see
         * {@link DatagramHandler}): no table, no timers, nothing allocated per datagram; runs INLINE
         * only. The options of sessions (numConnections, fullTablePolicy, the retries, readTimeout,
         * mailboxCapacity) do not apply, and setting one is refused by {@link #build()}.
         *
         * @param handler called for every datagram
         * @return this builder
         */
        public Builder datagramHandler(DatagramHandler handler) {
            this.handler = new Stateless(handler);
            return this;
        }

        // ---- socket and offloads

        /**
         * UDP port, 0..65535; 0 lets the kernel pick (see {@link Server#localAddress()}). Default 0.
         *
         * @param port 0..65535
         * @return this builder
         */
        public Builder port(int port) {
            this.port = inRange("port", port, 0, 65_535);
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
            this.addressSet = true;
            return this;
        }

        /**
         * Listen on every interface: the wildcard address the JDK prefers, {@code 0.0.0.0} (IPv4 only)
         * unless {@code java.net.preferIPv6Addresses=true} makes it {@code ::} (dual-stack unless
         * ipv6Only). For a dual-stack socket whatever the JVM's preference, bind {@code ::} with
         * {@link #bindAddress(InetAddress)}.
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
         * with {@code '@'} is an abstract name. At most 107 bytes. One acceptor serves it
         * (SO_REUSEPORT does not apply), with no IP options and no offloads.
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
         * Serve on sockets this process was given, already bound (systemd socket activation:
         * {@link SystemdSockets#listenFds()}), instead of creating and binding one per acceptor: one
         * acceptor per socket, each adopting its descriptor. Each is checked with the kernel
         * ({@link InheritedSocket#inspect}): a bound {@code SOCK_DGRAM} socket of AF_INET, AF_INET6 or
         * AF_UNIX, all of one family.
         *
         * <p>What only applies when binding is refused by {@link #build()} with inherited sockets:
         * {@link #port(int)}, {@link #bindAddress(InetAddress)} (and bindAny, bindLoopback),
         * {@link #bindUnix(String)}, {@link #reuseAddress(boolean)}, {@link #ipv6Only(boolean)}, and
         * a {@link #numAcceptors(int)} other than the number of sockets. The other options (buffer
         * sizes, control messages, offloads, timestamps) are applied to each adopted socket as to one
         * the server creates. Native transports only: the JDK's DatagramChannel cannot wrap a
         * descriptor, so {@link TransportKind#NIO} is refused by build(), and {@link TransportKind#AUTO}
         * fails at start rather than fall back to NIO.
         *
         * <p>The server owns the descriptors once started: it closes them when it stops.
         *
         * @param sockets the sockets, e.g. {@link SystemdSockets#listenFds()}; at least one
         * @return this builder
         * @throws IllegalArgumentException no socket, one fd twice, or sockets of different families
         */
        public Builder inheritedSockets(List<InheritedSocket> sockets) {
            this.inheritedSockets = InheritedSocket.checkTogether(Objects.requireNonNull(sockets, "inheritedSockets"));
            return this;
        }

        /**
         * {@link #inheritedSockets(List)} for descriptors given by number, each checked with the
         * kernel now ({@link InheritedSocket#inspect}).
         *
         * @param fds open descriptors of bound datagram sockets, at least one
         * @return this builder
         * @throws IllegalArgumentException naming the fd and what is wrong with it (not open, not a
         *                                  socket, not a datagram socket, not bound, another family)
         */
        public Builder inheritedSockets(int... fds) {
            Objects.requireNonNull(fds, "inheritedSockets");
            return inheritedSockets(Arrays.stream(fds).mapToObj(fd -> InheritedSocket.inspect(fd, null)).toList());
        }

        // ---- AF_XDP: options of transport XDP only

        /**
         * The network interface transport {@link TransportKind#XDP} serves, e.g. {@code "eth0"}.
         * Default: the interface that has the bind address (a wildcard bind needs it named).
         *
         * @param name an interface of this network namespace
         * @return this builder
         */
        public Builder xdpInterface(String name) {
            this.xdpInterface = Objects.requireNonNull(name, "xdpInterface");
            return this;
        }

        /**
         * How many RX queues to serve, from queue 0: one acceptor (and one AF_XDP socket) each.
         * Default 0: every RX queue of the interface. Frames on a queue not served go to the kernel,
         * and so to the bound socket.
         *
         * @param queues 0 or more
         * @return this builder
         */
        public Builder xdpQueues(int queues) {
            if (queues < 0) {
                throw new IllegalArgumentException("xdpQueues must be >= 0 (0: all), was " + queues);
            }
            this.xdpQueues = queues;
            return this;
        }

        /**
         * Where the XDP program runs. Default {@link XdpOptions.Attach#AUTO}: in the driver where
         * it has XDP, else generic.
         *
         * @param attach the mode
         * @return this builder
         */
        public Builder xdpAttach(XdpOptions.Attach attach) {
            this.xdpAttach = Objects.requireNonNull(attach, "xdpAttach");
            return this;
        }

        /**
         * Copy or zero-copy. Default {@link XdpOptions.Copy#AUTO}: zero-copy where the driver has it.
         *
         * @param copy the mode
         * @return this builder
         */
        public Builder xdpCopy(XdpOptions.Copy copy) {
            this.xdpCopy = Objects.requireNonNull(copy, "xdpCopy");
            return this;
        }

        /**
         * UMEM frames per queue (2 KiB each), a power of two from 256. Default 4096 (8 MiB a queue):
         * half for receiving, the rest for sending.
         *
         * @param frames the frames
         * @return this builder
         */
        public Builder xdpUmemFrames(int frames) {
            if (frames < 256 || Integer.bitCount(frames) != 1) {
                throw new IllegalArgumentException("xdpUmemFrames must be a power of two >= 256, was " + frames);
            }
            this.xdpUmemFrames = frames;
            return this;
        }

        /**
         * Whether replies over IPv4 carry a UDP checksum (optional on IPv4; always on IPv6). Default true.
         *
         * @param on compute it
         * @return this builder
         */
        public Builder xdpIpv4UdpChecksum(boolean on) {
            this.xdpIpv4UdpChecksum = on;
            return this;
        }

        /**
         * Whether received UDP checksums are verified (a frame that fails is counted and dropped).
         * Default false: over veth, and wherever the sender leaves its checksum to the device, the
         * frame carries only the pseudo-header's partial sum, which XDP sees as it is.
         *
         * @param on verify
         * @return this builder
         */
        public Builder xdpVerifyUdpChecksum(boolean on) {
            this.xdpVerifyUdpChecksum = on;
            return this;
        }

        /**
         * The kernel interface: {@link TransportKind#AUTO} (default: the best that works here),
         * {@link TransportKind#IO_URING}, {@link TransportKind#EPOLL}, {@link TransportKind#NIO}, or
         * {@link TransportKind#XDP} (explicit only; see the {@code xdp*} options).
         *
         * @param transport the transport kind
         * @return this builder
         */
        public Builder transport(TransportKind transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /**
         * SO_RCVBUF in bytes. Default 0: each IP socket asks for 4 MiB (with SO_RCVBUFFORCE when the
         * process may, else SO_RCVBUF, which the kernel caps at net.core.rmem_max; a socket whose
         * kernel default is larger keeps it; a shortfall is logged once); an AF_UNIX socket keeps the
         * kernel default. A positive value is set as it is.
         *
         * @param bytes 0 or more
         * @return this builder
         */
        public Builder receiveBufferSize(int bytes) {
            this.receiveBufferSize = nonNegative("receiveBufferSize", bytes);
            return this;
        }

        /**
         * SO_SNDBUF in bytes; default 0, which keeps the kernel default.
         *
         * @param bytes 0 or more
         * @return this builder
         */
        public Builder sendBufferSize(int bytes) {
            this.sendBufferSize = nonNegative("sendBufferSize", bytes);
            return this;
        }

        /**
         * SO_REUSEADDR; default true for an IP address, as in the original (AF_UNIX has no such option).
         *
         * @param on whether to set SO_REUSEADDR
         * @return this builder
         */
        public Builder reuseAddress(boolean on) {
            this.reuseAddress = on;
            return this;
        }

        /**
         * IPV6_V6ONLY for an IPv6 bind address; default false (dual stack). Not with an IPv4 or AF_UNIX
         * address, nor with transport NIO (the JDK cannot set it).
         *
         * @param on whether an IPv6 socket refuses IPv4-mapped peers
         * @return this builder
         */
        public Builder ipv6Only(boolean on) {
            this.ipv6Only = on;
            return this;
        }

        /**
         * Datagrams per receive call (recvmmsg entries, provided buffers per round), 1..1024; default 64.
         *
         * @param n 1..1024
         * @return this builder
         */
        public Builder receiveBatchSize(int n) {
            this.receiveBatchSize = inRange("receiveBatchSize", n, 1, 1024);
            return this;
        }

        /**
         * Receive slot size in bytes, 1..{@value #MAX_RECEIVE_SIZE}; default {@value #MAX_RECEIVE_SIZE},
         * so no UDP datagram is ever cut and a coalesced (GRO) receive fits.
         *
         * @param bytes 1..{@value #MAX_RECEIVE_SIZE}
         * @return this builder
         */
        public Builder maxDatagramSize(int bytes) {
            this.maxDatagramSize = inRange("maxDatagramSize", bytes, 1, MAX_RECEIVE_SIZE);
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
         * default off (it reads as -1). Native transports and IP addresses only.
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
         * {@link DatagramInfo#timestampNanos()}; default off (it reads as -1). Native transports and
         * IP addresses only.
         *
         * @param on whether to ask for timestamps
         * @return this builder
         */
        public Builder receiveTimestamps(boolean on) {
            this.receiveTimestamps = on;
            return this;
        }

        /**
         * Generic segmentation offload for sends: datagrams sent to the same peer in one batch, with
         * the same source, traffic class and size (the last may be shorter), leave in one kernel send
         * with a UDP_SEGMENT control message (up to 64 segments, 64 KiB); the kernel cuts them into
         * separate datagrams. A socket whose kernel refuses it (EIO, EINVAL) falls back to one send per
         * datagram, said once in the log. Default: on for a native transport on an IP address; off
         * (and not to be set on) with transport NIO or an AF_UNIX address.
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
         * {@link DatagramInfo#segmentSize()} says so). Needs maxDatagramSize {@value #MAX_RECEIVE_SIZE},
         * as a coalesced receive can be up to 64 KiB. Default: on when maxDatagramSize is
         * {@value #MAX_RECEIVE_SIZE}, for a native transport on an IP address; off otherwise.
         *
         * @param on whether to take coalesced receives
         * @return this builder
         */
        public Builder gro(boolean on) {
            this.gro = on;
            return this;
        }

        // ---- limits

        /**
         * Acceptor threads, each with its own SO_REUSEPORT socket, 1..1024; default: the available
         * processors ({@link Runtime#availableProcessors()}), and 1 for an AF_UNIX address (which
         * SO_REUSEPORT does not apply to: more is refused).
         *
         * @param n 1..1024
         * @return this builder
         */
        public Builder numAcceptors(int n) {
            this.numAcceptors = inRange("numAcceptors", n, 1, 1024);
            return this;
        }

        // ---- CPU placement

        /**
         * Pins each acceptor thread to one CPU ({@code sched_setaffinity}, at the start of the
         * thread): acceptor {@code i} to the {@code i}-th CPU (modulo their number) of those the
         * process may run on ({@code sched_getaffinity} of the process, read by {@link #build()}).
         * Default false. A thread the kernel refuses to pin (the process's CPU set changed since)
         * logs a warning and runs unpinned: the server works, only placement is lost. Works on every
         * transport (it is the thread, not the socket). Worth it with {@link #steerByCpu(boolean)}
         * and NIC queues whose interrupts land on the same CPUs: see the README's "CPU placement".
         *
         * @param on whether to pin
         * @return this builder
         */
        public Builder pinAcceptors(boolean on) {
            this.pinAcceptors = on;
            this.pinCpus = null;
            return this;
        }

        /**
         * Pins acceptor {@code i} to CPU {@code cpus[i % cpus.length]}; as {@link #pinAcceptors(boolean)}
         * otherwise. {@link #build()} refuses a CPU the process may not run on.
         *
         * @param cpus CPU indexes, at least one
         * @return this builder
         */
        public Builder pinAcceptors(int... cpus) {
            if (cpus.length == 0) {
                throw new IllegalArgumentException("pinAcceptors: no CPU given");
            }
            for (int cpu : cpus) {
                if (cpu < 0) {
                    throw new IllegalArgumentException("pinAcceptors: CPU must be >= 0, was " + cpu);
                }
            }
            this.pinAcceptors = true;
            this.pinCpus = cpus.clone();
            return this;
        }

        /**
         * Reuseport steering by CPU: a classic BPF program attached to the acceptors' SO_REUSEPORT
         * group ({@code SO_ATTACH_REUSEPORT_CBPF}) hands each datagram to acceptor
         * {@code (receiving CPU) % numAcceptors} instead of the kernel's hash of the 4-tuple, so the
         * acceptor that reads a datagram is the one on the CPU that received it (with
         * {@link #pinAcceptors(boolean)}). A peer whose datagrams arrive on several CPUs then meets
         * several acceptors, each with its own session for it: steer only where one peer's traffic
         * arrives on one CPU (a NIC's RSS hashes the 4-tuple to one queue). Default false. Refused
         * with an AF_UNIX address, transport NIO (the JDK gives no descriptor), one acceptor and
         * {@link #inheritedSockets(List) inherited sockets} (bound elsewhere, in an unknown order); a
         * server whose AUTO transport lands on NIO fails to start.
         *
         * @param on whether to steer by CPU
         * @return this builder
         */
        public Builder steerByCpu(boolean on) {
            this.steerByCpu = on;
            return this;
        }

        // ---- the defences for the open internet (ServerConfig.Defences) ----

        /**
         * Reply rate limiting per source prefix (RRL, as NSD, Knot and BIND do it): at most
         * {@code repliesPerSecond} datagrams per second, after a burst of {@link #rateLimitBurst},
         * go to the peers of one source prefix ({@link #sourcePrefixLengths}: IPv4 /24 and IPv6 /56
         * by default) that are not {@link Peer#markValidated() validated}: every stateless reply
         * ({@link DatagramHandler}, {@link Server#send}) and every send of a session whose peer is
         * not validated. A datagram over the limit is not sent ({@link SendResult#LIMITED}), counted
         * in {@link ServerStats#rateLimited()}; a handler may ask first ({@link Peer#rateLimit()}).
         * The budgets live in a table of {@link #prefixTableSize} buckets shared by the acceptors,
         * keyed by a per-process secret. Default 0: off. 200 is NSD's default and the CLI's for
         * {@code echo} and {@code reflector}.
         *
         * @param repliesPerSecond 0 (off) to 1,000,000,000
         * @return this builder
         */
        public Builder rateLimit(int repliesPerSecond) {
            this.rateLimit = inRange("rateLimit", repliesPerSecond, 0, 1_000_000_000);
            return this;
        }

        /**
         * Replies a source prefix may get at once, after it was quiet for as long as the burst takes
         * to refill (burst / rate seconds); the budget refills continuously at {@link #rateLimit}.
         * Default: one second's worth ({@code rateLimit}). Needs a rate limit.
         *
         * @param replies 1 or more
         * @return this builder
         */
        public Builder rateLimitBurst(int replies) {
            this.rateLimitBurst = inRange("rateLimitBurst", replies, 1, Integer.MAX_VALUE);
            return this;
        }

        /**
         * Of the handler's {@link Peer#rateLimit()} questions that find a prefix over its limit, one in
         * {@code k} is answered {@link RateLimitVerdict#SLIP}: the handler may send one minimal reply
         * (DNS: TC=1) so a real client behind a forged flood can still get through another way.
         * 0: never; default 2 (NSD's and BIND's). Needs a rate limit.
         *
         * @param k 0 or more
         * @return this builder
         */
        public Builder rateLimitSlip(int k) {
            this.rateLimitSlip = nonNegative("rateLimitSlip", k);
            return this;
        }

        /**
         * How source addresses are grouped for the rate limit and the session quota: the first
         * {@code ipv4Bits} of an IPv4 (or v4-mapped) address, the first {@code ipv6Bits} of an IPv6
         * one. Default 24 and 56 (one customer's network: an IPv4 /24, an IPv6 site's /56).
         *
         * @param ipv4Bits 1..32
         * @param ipv6Bits 1..64
         * @return this builder
         */
        public Builder sourcePrefixLengths(int ipv4Bits, int ipv6Bits) {
            this.ipv4PrefixLength = inRange("sourcePrefixLengths ipv4Bits", ipv4Bits, 1, 32);
            this.ipv6PrefixLength = inRange("sourcePrefixLengths ipv6Bits", ipv6Bits, 1, 64);
            return this;
        }

        /**
         * The amplification limit (QUIC's rule, RFC 9000 §8): until a peer is
         * {@link Peer#markValidated() validated}, the bytes sent to it are at most {@code factor} times
         * the bytes received from it (a session: over its life; a stateless reply: its request). A
         * datagram past it is not sent ({@link SendResult#LIMITED}), counted in
         * {@link ServerStats#amplificationLimited()}. Default 0: off; QUIC's and the CLI's is 3.
         *
         * @param factor 0 (off) to 1,000
         * @return this builder
         */
        public Builder amplificationLimit(int factor) {
            this.amplificationLimit = inRange("amplificationLimit", factor, 0, 1_000);
            return this;
        }

        /**
         * At most {@code n} live sessions per source prefix ({@link #sourcePrefixLengths}), across
         * the acceptors. A new peer of a prefix at its quota takes the place of that prefix's own
         * oldest session on its acceptor ({@link FullTablePolicy#EVICT}, never another prefix's), or
         * is dropped (REFUSE, or none on its acceptor; {@link DispatchMode#VIRTUAL_THREADS}: the
         * displaced session ends on its own thread, and the newcomer is dropped meanwhile: its next
         * datagram gets the place); counted in {@link ServerStats#prefixQuota()}.
         * So one network flooding the table cannot push the others' sessions out. Default 0: off.
         * Session handlers only.
         *
         * @param n 0 (off) or more
         * @return this builder
         */
        public Builder sessionsPerPrefix(int n) {
            this.sessionsPerPrefix = nonNegative("sessionsPerPrefix", n);
            return this;
        }

        /**
         * Buckets of the prefix tables: the rate limit's (4 bytes each) and the session quota's (4
         * bytes each), made only when that defence is on and shared by the acceptors. Prefixes that
         * share a bucket share its budget (stricter, never looser); their placement is a keyed hash
         * an outsider cannot aim. Default 2^20 (1,048,576, NSD's size: 4 MiB for rates).
         *
         * @param buckets a power of two, 1,024..16,777,216
         * @return this builder
         */
        public Builder prefixTableSize(int buckets) {
            inRange("prefixTableSize", buckets, 1 << 10, 1 << 24);
            if (Integer.bitCount(buckets) != 1) {
                throw new IllegalArgumentException("prefixTableSize must be a power of two, was " + buckets);
            }
            this.prefixTableSize = buckets;
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
         * Retries of a new peer's datagram while the table is full; default 5. With 0, neither
         * maxConnectionsRetryWait nor retryBufferBytes may be set.
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
         * Size in bytes of each acceptor's off-heap queue for datagrams sent from other threads
         * (virtual threads, application threads): 262,144..1,073,741,824, rounded up to a power of
         * two; default 4 MiB. Each datagram takes its payload plus its peer address plus 8, rounded
         * up to 8. A send that finds the queue full returns {@link SendResult#FULL} and is counted in
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

        // ---- timeouts

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
         * How long an INLINE callback may run before its session is ended with handleError (a
         * {@link java.util.concurrent.TimeoutException} as the reason); default 1 s. A watchdog
         * thread interrupts the acceptor thread and logs where the callback was; a callback that
         * ignores interrupts still holds up the other sessions of its acceptor until it returns.
         * INLINE only: with VIRTUAL_THREADS it is refused (a virtual thread may block).
         *
         * @param limit positive
         * @return this builder
         */
        public Builder inlineCallbackLimit(Duration limit) {
            this.inlineCallbackLimit = positive("inlineCallbackLimit", limit);
            return this;
        }

        // ---- dispatch

        /**
         * Where callbacks run: {@link DispatchMode#INLINE} (default) or {@link DispatchMode#VIRTUAL_THREADS}
         * (a {@link Handler} only).
         *
         * @param mode INLINE or VIRTUAL_THREADS
         * @return this builder
         */
        public Builder dispatchMode(DispatchMode mode) {
            this.dispatchMode = Objects.requireNonNull(mode, "dispatchMode");
            return this;
        }

        /**
         * Debug mode for INLINE session handlers, default off: the datagram view handed to a callback
         * dies when the callback returns, so code that keeps it (or hands it to another thread) fails
         * at once with {@link IllegalStateException} or {@link WrongThreadException} instead of
         * silently reading a later datagram. Costs a small allocation per datagram: for tests. Not
         * with VIRTUAL_THREADS (callbacks get copies) nor a {@link DatagramHandler}.
         *
         * @param on whether to check views
         * @return this builder
         */
        public Builder checkViews(boolean on) {
            this.checkViews = on;
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

        // ---- listen options (the reference's transport_options): socket options, multicast, namespace

        /**
         * Sets a socket option on every acceptor's socket before it binds ({@link UdpOption}: the
         * reference's {@code broadcast}, {@code ttl}, {@code multicast_ttl}, {@code bind_to_device},
         * {@code {raw, L, O, V}}, ...). Not set, the kernel's default applies. Setting one twice keeps
         * the last value. A running server reads and changes them with {@link Server#option} and
         * {@link Server#setOption}.
         *
         * @param option the option
         * @param value  its value, checked now
         * @param <T>    its type
         * @return this builder
         * @throws IllegalArgumentException naming the option and the value when the value is out of range
         */
        public <T> Builder socketOption(UdpOption<T> option, T value) {
            Objects.requireNonNull(option, "option");
            listenOptions.put(option, option.check(value));
            return this;
        }

        /**
         * Every acceptor's socket joins {@code group} once bound (the reference's
         * {@code add_membership}); a running server joins and leaves with {@link Server#joinGroup}
         * and {@link Server#leaveGroup}. Bind a wildcard address ({@link #bindAny()}, or
         * {@code 0.0.0.0} / {@code ::}) on the group's port: a socket bound to a unicast address
         * receives no multicast. {@link DatagramInfo#destination()} then names the group a datagram
         * was sent to.
         *
         * @param group the membership
         * @return this builder
         * @throws IllegalArgumentException when it was joined already
         */
        public Builder joinGroup(MulticastGroup group) {
            Objects.requireNonNull(group, "group");
            if (!groups.add(group)) {
                throw new IllegalArgumentException("joinGroup " + group + ": joined twice");
            }
            return this;
        }

        /**
         * {@link #joinGroup(MulticastGroup)} of {@code group} on {@code interfaceName} for every source.
         *
         * @param group         a multicast address
         * @param interfaceName an interface name, or null for the route's
         * @return this builder
         */
        public Builder joinGroup(InetAddress group, String interfaceName) {
            return joinGroup(new MulticastGroup(group, interfaceName, null));
        }

        /**
         * {@link #joinGroup(MulticastGroup)} of {@code group} on {@code interfaceName} for {@code source}
         * only (source-specific multicast).
         *
         * @param group         a multicast address
         * @param interfaceName an interface name, or null for the route's
         * @param source        the one source accepted
         * @return this builder
         */
        public Builder joinGroup(InetAddress group, String interfaceName, InetAddress source) {
            return joinGroup(new MulticastGroup(group, interfaceName, Objects.requireNonNull(source, "source")));
        }

        /**
         * Opens the server's sockets inside the network namespace {@code name} (the reference's
         * {@code netns}): a name under {@code /run/netns} (as {@code ip netns add} makes) or a path
         * ({@code /proc/PID/ns/net}). The rest of the process stays in its own namespace: each socket
         * is created by a short-lived thread that enters the namespace ({@code setns}) and leaves
         * again; the socket keeps that namespace (its addresses, routes and interfaces) for life.
         * Needs CAP_SYS_ADMIN; EPOLL or IO_URING (NIO refused).
         *
         * @param name a namespace name or path
         * @return this builder
         * @throws IllegalArgumentException when it is blank
         */
        public Builder netns(String name) {
            Objects.requireNonNull(name, "netns");
            if (name.isBlank() || name.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("netns '" + name + "': a namespace name or path");
            }
            this.netns = name;
            return this;
        }

        /** The listen options against the rest: what was set only. */
        private void checkListen() {
            boolean unix = unixPath != null || inheritedSockets != null
                    && inheritedSockets.getFirst().localAddress() instanceof UnixDomainSocketAddress;
            String where = unix ? "an AF_UNIX socket" : null;
            for (UdpOption<?> o : listenOptions.keySet()) {
                String option = "socketOption " + o.name() + " " + UdpOption.describe(listenOptions.get(o));
                refuse(unix && o.rawLevel() < 0, option, "bindUnix", "an IP socket option does not apply to " + where);
                refuse(transport == TransportKind.NIO && !o.onNio(), option, "transport NIO",
                        "the JDK's DatagramChannel has no such option (EPOLL or IO_URING have)");
                refuse(inheritedSockets != null && !o.changeableAfterBind(), option, "inheritedSockets",
                        "it decides how a socket binds, and these are bound already");
            }
            for (MulticastGroup g : groups) {
                refuse(unix, "joinGroup " + g, "bindUnix", "multicast is IP");
                if (!unix && inheritedSockets == null) {
                    refuse(ip instanceof Inet4Address && !(g.group() instanceof Inet4Address), "joinGroup " + g,
                            "bindAddress " + ip.getHostAddress(), "an IPv4 socket cannot join an IPv6 group");
                }
                refuse(transport == TransportKind.NIO && g.interfaceName() == null, "joinGroup " + g, "transport NIO",
                        "the JDK's DatagramChannel.join needs an interface (GROUP@INTERFACE)");
            }
            if (netns != null) {
                refuse(transport == TransportKind.NIO, "netns " + netns, "transport NIO",
                        "the NIO transport makes no native call; EPOLL or IO_URING open their sockets in the namespace");
                refuse(inheritedSockets != null, "netns " + netns, "inheritedSockets", "the sockets exist already, in their own namespace");
                refuse(transport == TransportKind.XDP, "netns " + netns, "transport XDP", "its interface, XDP program and AF_XDP"
                        + " sockets are resolved and made in the JVM's own namespace, the bound socket would be in " + netns);
            }
        }

        private ListenOptions listenOptions() {
            return new ListenOptions(listenOptions, List.copyOf(groups), netns);
        }

        // ---- DTLS

        /**
         * DTLS 1.2 on every session (see {@link Dtls}): the handler sees plaintext after the
         * handshake. Works with a {@link Handler} or a {@link SegmentHandler}, both dispatch modes,
         * every transport; {@link #build()} refuses it with a {@link DatagramHandler}, which keeps no
         * session to hold a handshake and its keys.
         *
         * @param dtls the DTLS settings, or null for none (plaintext, the default)
         * @return this builder
         */
        public Builder dtls(Dtls dtls) {
            this.dtls = dtls;
            return this;
        }

        /**
         * Checks the options together, resolves the defaults, and returns the config.
         *
         * @return the config
         * @throws IllegalArgumentException when no handler is set, or when two options contradict each
         *                                  other: the message names both, with their values
         */
        public ServerConfig build() {
            if (handler == null) {
                throw new IllegalArgumentException("handler: none set (call handler(...), segmentHandler(...) or datagramHandler(...))");
            }
            checkTogether();
            checkListen();
            boolean inherited = inheritedSockets != null;
            boolean unix = unixPath != null
                    || inherited && inheritedSockets.getFirst().localAddress() instanceof UnixDomainSocketAddress;
            // control messages and offloads need UDP over IP on a native transport
            boolean datagramControl = !unix && transport != TransportKind.NIO;
            int maxDatagram = or(maxDatagramSize, MAX_RECEIVE_SIZE);
            SocketOptions socket = new SocketOptions(
                    inherited ? inheritedSockets.getFirst().localAddress()
                            : unix ? UnixDomainSocketAddress.of(unixPath) : new InetSocketAddress(ip, port), transport,
                    or(receiveBufferSize, 0), or(sendBufferSize, 0), or(reuseAddress, !unix && !inherited), or(ipv6Only, false),
                    or(receiveBatchSize, 64), maxDatagram, or(truncationPolicy, TruncationPolicy.DROP),
                    or(gso, datagramControl), or(gro, datagramControl && maxDatagram == MAX_RECEIVE_SIZE),
                    or(receiveTrafficClass, false), or(receiveTimestamps, false));
            Limits limits = new Limits(inherited ? inheritedSockets.size()
                    : unix ? 1 : or(numAcceptors, Runtime.getRuntime().availableProcessors()),
                    or(numConnections, 16_384), or(fullTablePolicy, FullTablePolicy.EVICT),
                    or(maxConnectionsRetryCount, 5), or(maxConnectionsRetryWait, Duration.ofSeconds(1)),
                    or(retryBufferBytes, 1 << 20), or(sendQueueBytes, 4 << 20), or(mailboxCapacity, 1024));
            Timeouts timeouts = new Timeouts(or(readTimeout, Duration.ofSeconds(60)),
                    or(shutdownTimeout, Duration.ofSeconds(15)), or(inlineCallbackLimit, Duration.ofSeconds(1)));
            DispatchOptions dispatch = new DispatchOptions(or(dispatchMode, DispatchMode.INLINE), or(checkViews, false),
                    or(silentTerminateOnError, false));
            CpuPlacement placement = new CpuPlacement(acceptorCpus(limits.numAcceptors()), or(steerByCpu, false));
            int rate = or(rateLimit, 0);
            Defences defences = new Defences(rate, or(rateLimitBurst, Math.max(1, rate)), or(rateLimitSlip, 2),
                    or(ipv4PrefixLength, 24), or(ipv6PrefixLength, 56), or(amplificationLimit, 0), or(sessionsPerPrefix, 0),
                    or(prefixTableSize, 1 << 20));
            XdpOptions xdp = new XdpOptions(xdpInterface, or(xdpQueues, 0), or(xdpAttach, XdpOptions.Attach.AUTO),
                    or(xdpCopy, XdpOptions.Copy.AUTO), or(xdpUmemFrames, 4096), or(xdpIpv4UdpChecksum, true),
                    or(xdpVerifyUdpChecksum, false));
            return new ServerConfig(handler, socket, limits, timeouts, dispatch,
                    inherited ? inheritedSockets : List.of(), placement, defences, listenOptions(), xdp, dtls);
        }

        /** Refuses what was set and cannot hold together; a default never takes part. */
        private void checkTogether() {
            String handlerKind = switch (handler) {
                case Sessions<?> s -> "handler";
                case Segments s -> "segmentHandler";
                case Stateless s -> "datagramHandler";
            };
            String handlerValue = handlerKind + " " + handlerInstance().getClass().getSimpleName();
            if (inheritedSockets != null) {
                checkInherited();
            }
            if (unixPath != null) {
                String unix = "bindUnix '" + unixPath + "'";
                refuse(port != 0, "port " + port, unix, "an AF_UNIX address has no port");
                refuse(transport == TransportKind.NIO, "transport NIO", unix, "the JDK has no AF_UNIX datagram channel");
                refuse(numAcceptors != null && numAcceptors > 1, "numAcceptors " + numAcceptors, unix,
                        "SO_REUSEPORT does not apply to AF_UNIX: one acceptor serves it");
                refuse(Boolean.TRUE.equals(reuseAddress), "reuseAddress true", unix, "AF_UNIX has no SO_REUSEADDR");
                refuse(Boolean.TRUE.equals(ipv6Only), "ipv6Only true", unix, "IPV6_V6ONLY applies to IPv6 sockets");
                refuseDatagramControl(unix, "AF_UNIX datagrams carry no IP control messages and have no UDP offloads");
            } else {
                refuse(Boolean.TRUE.equals(ipv6Only) && ip instanceof Inet4Address, "ipv6Only true",
                        "bindAddress " + ip.getHostAddress(), "IPV6_V6ONLY applies to IPv6 sockets");
            }
            checkXdp();
            if (transport == TransportKind.NIO) {
                String nio = "transport NIO";
                refuse(Boolean.TRUE.equals(ipv6Only), "ipv6Only true", nio, "the JDK's DatagramChannel cannot set IPV6_V6ONLY");
                refuseDatagramControl(nio, "the JDK's DatagramChannel gives no control messages and no UDP offloads");
            }
            refuse(Boolean.TRUE.equals(gro) && maxDatagramSize != null && maxDatagramSize != MAX_RECEIVE_SIZE, "gro true",
                    "maxDatagramSize " + maxDatagramSize, "a coalesced receive is up to " + MAX_RECEIVE_SIZE + " bytes");
            if (dispatchMode == DispatchMode.VIRTUAL_THREADS) {
                String vt = "dispatchMode VIRTUAL_THREADS";
                refuse(!(handler instanceof Sessions<?>), vt, handlerValue, "only a Handler runs on virtual threads; this one runs INLINE");
                refuse(inlineCallbackLimit != null, "inlineCallbackLimit " + inlineCallbackLimit, vt,
                        "the limit watches INLINE callbacks; a virtual thread may block");
                refuse(Boolean.TRUE.equals(checkViews), "checkViews true", vt, "callbacks on virtual threads get copies, not views");
            }
            if (handler instanceof Stateless) {
                String why = "a DatagramHandler keeps no sessions";
                refuse(numConnections != null, "numConnections " + numConnections, handlerValue, why);
                refuse(fullTablePolicy != null, "fullTablePolicy " + fullTablePolicy, handlerValue, why);
                refuse(maxConnectionsRetryCount != null, "maxConnectionsRetryCount " + maxConnectionsRetryCount, handlerValue, why);
                refuse(maxConnectionsRetryWait != null, "maxConnectionsRetryWait " + maxConnectionsRetryWait, handlerValue, why);
                refuse(retryBufferBytes != null, "retryBufferBytes " + retryBufferBytes, handlerValue, why);
                refuse(readTimeout != null, "readTimeout " + readTimeout, handlerValue, why);
                refuse(mailboxCapacity != null, "mailboxCapacity " + mailboxCapacity, handlerValue, why + " and no mailboxes");
                refuse(silentTerminateOnError != null, "silentTerminateOnError " + silentTerminateOnError, handlerValue, why + " to end");
                refuse(Boolean.TRUE.equals(checkViews), "checkViews true", handlerValue, "views are checked for session handlers only");
            }
            if (maxConnectionsRetryCount != null && maxConnectionsRetryCount == 0) {
                String none = "maxConnectionsRetryCount 0";
                refuse(maxConnectionsRetryWait != null, "maxConnectionsRetryWait " + maxConnectionsRetryWait, none, "nothing is retried");
                refuse(retryBufferBytes != null, "retryBufferBytes " + retryBufferBytes, none, "nothing waits for a retry");
            }
            checkPlacement();
            if (dtls != null) {
                refuse(handler instanceof Stateless, "dtls " + dtls, handlerValue,
                        "DTLS keeps a handshake and keys per peer, and a DatagramHandler keeps no session to hold them: use a Handler or a SegmentHandler");
            }
            checkDefences(handlerValue);
        }

        /** The open-internet defences against the rest: what was set explicitly only. */
        private void checkDefences(String handlerValue) {
            boolean noRate = rateLimit == null || rateLimit == 0;
            String off = "rateLimit " + (rateLimit == null ? "unset (off)" : rateLimit);
            refuse(noRate && rateLimitBurst != null, "rateLimitBurst " + rateLimitBurst, off, "a burst needs a rate limit");
            refuse(noRate && rateLimitSlip != null, "rateLimitSlip " + rateLimitSlip, off, "slips are answers over a rate limit");
            refuse(sessionsPerPrefix != null && sessionsPerPrefix > 0 && handler instanceof Stateless,
                    "sessionsPerPrefix " + sessionsPerPrefix, handlerValue, "a DatagramHandler keeps no sessions");
        }

        /** Steering and pinning against the rest: what was set explicitly only. */
        private void checkPlacement() {
            if (Boolean.TRUE.equals(steerByCpu)) {
                String steer = "steerByCpu true";
                if (unixPath != null) {
                    refuse(true, steer, "bindUnix '" + unixPath + "'", "SO_REUSEPORT does not apply to AF_UNIX: one socket, nothing to steer");
                }
                refuse(transport == TransportKind.NIO, steer, "transport NIO",
                        "the JDK's DatagramChannel gives no descriptor to attach the BPF program to");
                refuse(numAcceptors != null && numAcceptors == 1, steer, "numAcceptors 1", "one socket, nothing to steer between");
                refuse(inheritedSockets != null, steer, "inheritedSockets (" + (inheritedSockets == null ? 0 : inheritedSockets.size())
                        + ")", "another process bound them, in an order the server does not know: the group's socket indexes need not be the acceptors'");
            }
        }

        /** The CPU of each acceptor, from the process's allowed CPUs; empty when not pinned. */
        private List<Integer> acceptorCpus(int acceptors) {
            if (!pinAcceptors) {
                return List.of();
            }
            int[] allowed;
            try {
                allowed = dev.abyss.ffi.CpuSet.allowed();
            } catch (java.io.IOException | RuntimeException | LinkageError e) {
                throw new IllegalArgumentException("pinAcceptors: the CPUs this process may run on cannot be read ("
                        + e + "); pinning needs native access (--enable-native-access)", e);
            }
            int[] from = pinCpus != null ? pinCpus : allowed;
            if (pinCpus != null) {
                for (int cpu : pinCpus) {
                    if (Arrays.binarySearch(allowed, cpu) < 0) {
                        throw new IllegalArgumentException("pinAcceptors " + Arrays.toString(pinCpus) + " names CPU " + cpu
                                + ", which this process may not run on (sched_getaffinity: " + Arrays.toString(allowed) + ")");
                    }
                }
            }
            Integer[] cpus = new Integer[acceptors];
            for (int i = 0; i < acceptors; i++) {
                cpus[i] = from[i % from.length];
            }
            return List.of(cpus);
        }

        /** Refuses what only applies when the server binds its own sockets, and what cannot adopt a descriptor. */
        private void checkInherited() {
            int n = inheritedSockets.size();
            String given = "inheritedSockets fd " + inheritedSockets.stream().map(s -> String.valueOf(s.fd()))
                    .collect(java.util.stream.Collectors.joining(",")) + " (already bound)";
            String bound = "the sockets are already bound; this option only applies when binding";
            refuse(port != 0, "port " + port, given, bound);
            refuse(addressSet, "bindAddress " + ip.getHostAddress(), given, bound);
            refuse(unixPath != null, "bindUnix '" + unixPath + "'", given, bound);
            refuse(reuseAddress != null, "reuseAddress " + reuseAddress, given, "SO_REUSEADDR is set before bind");
            refuse(ipv6Only != null, "ipv6Only " + ipv6Only, given, "IPV6_V6ONLY is set before bind");
            refuse(numAcceptors != null && numAcceptors != n, "numAcceptors " + numAcceptors, given,
                    "one acceptor serves each inherited socket: " + n);
            refuse(transport == TransportKind.NIO, "transport NIO", given,
                    "the JDK's DatagramChannel cannot adopt a descriptor (System.inheritedChannel covers fd 0 only); use EPOLL or IO_URING");
            if (inheritedSockets.getFirst().localAddress() instanceof UnixDomainSocketAddress) {
                refuseDatagramControl(given, "AF_UNIX datagrams carry no IP control messages and have no UDP offloads");
            }
        }

        /** The per-datagram facts and offloads asked for on {@code where}, which has none of them. */
        private void refuseDatagramControl(String where, String why) {
            refuse(Boolean.TRUE.equals(gso), "gso true", where, why);
            refuse(Boolean.TRUE.equals(gro), "gro true", where, why);
            refuse(Boolean.TRUE.equals(receiveTrafficClass), "receiveTrafficClass true", where, why);
            refuse(Boolean.TRUE.equals(receiveTimestamps), "receiveTimestamps true", where, why);
        }

        private Object handlerInstance() {
            return switch (handler) {
                case Sessions<?> s -> s.handler();
                case Segments s -> s.handler();
                case Stateless s -> s.handler();
            };
        }

        /** Throws "{@code option} contradicts {@code other}: {@code why}" when {@code contradiction}. */
        /** The xdp* options belong to transport XDP, which serves an IP address of an interface. */
        private void checkXdp() {
            String xdpOption = xdpInterface != null ? "xdpInterface " + xdpInterface
                    : xdpQueues != null ? "xdpQueues " + xdpQueues
                    : xdpAttach != null ? "xdpAttach " + xdpAttach
                    : xdpCopy != null ? "xdpCopy " + xdpCopy
                    : xdpUmemFrames != null ? "xdpUmemFrames " + xdpUmemFrames
                    : xdpIpv4UdpChecksum != null ? "xdpIpv4UdpChecksum " + xdpIpv4UdpChecksum
                    : xdpVerifyUdpChecksum != null ? "xdpVerifyUdpChecksum " + xdpVerifyUdpChecksum : null;
            refuse(xdpOption != null && transport != TransportKind.XDP, xdpOption, "transport " + transport,
                    "the xdp* options are those of transport XDP");
            if (transport == TransportKind.XDP) {
                refuse(unixPath != null, "transport XDP", "bindUnix '" + unixPath + "'", "AF_XDP serves UDP over IP");
                refuse(inheritedSockets != null, "transport XDP", "inheritedSockets",
                        "AF_XDP sockets and the XDP program are made at start, not inherited");
                refuse(numAcceptors != null, "numAcceptors " + numAcceptors, "transport XDP",
                        "XDP runs one acceptor per RX queue served (xdpQueues)");
            }
        }

        private static void refuse(boolean contradiction, String option, String other, String why) {
            if (contradiction) {
                throw new IllegalArgumentException(option + " contradicts " + other + ": " + why);
            }
        }

        private static <T> T or(T value, T byDefault) {
            return value != null ? value : byDefault;
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
