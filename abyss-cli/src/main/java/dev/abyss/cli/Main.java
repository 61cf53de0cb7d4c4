package dev.abyss.cli;

import dev.abyss.server.Abyss;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.Handler;
import dev.abyss.server.Handoff;
import dev.abyss.server.Server;
import dev.abyss.server.InheritedSocket;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.SystemdSockets;
import dev.abyss.server.ServerStats;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import dev.abyss.server.examples.Reflector;
import dev.abyss.server.examples.StatelessEcho;
import dev.abyss.server.examples.HelloWorld;
import dev.abyss.server.examples.Messenger;
import dev.abyss.server.telemetry.AbyssLogger;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The {@code abyss} command ({@code bin/abyss}, or {@code java -jar abyss-cli/target/abyss-cli.jar}):
 * runs one of the example handlers of abyss-server with the options a user tunes. {@code --help}
 * lists them.
 *
 * <p>Prints where it listens and on which transport, then a stats line every 5 s while traffic
 * flows. With the messenger handler, each line typed on stdin is posted to every live session,
 * which sends it to its peer. Ctrl-C (SIGINT/SIGTERM) stops the server gracefully.
 */
@Command(name = "abyss", mixinStandardHelpOptions = true, sortOptions = false, sortSynopsis = false, abbreviateSynopsis = true,
        usageHelpAutoWidth = true,
        versionProvider = Main.Version.class,
        description = "Runs an Abyss UDP server with one of the example handlers. Ctrl-C stops it gracefully.",
        footer = {"", "Sizes are bytes; durations take a unit: 500ms, 60s, 5m, 1h (a bare number is seconds).",
                "Exit status: 0 after a clean stop, 1 when the server cannot start, 2 on a bad option."})
public final class Main implements Callable<Integer> {
    static final long STATS_PERIOD_SECONDS = 5;

    /** The handlers the CLI can run. */
    /** echo is stateless (DatagramHandler, no sessions); session_echo the same echo with a session per peer. */
    enum HandlerName { echo, session_echo, hello, messenger, reflector }

    /** {@link TransportKind}, as typed. */
    enum TransportName { auto, io_uring, epoll, nio, xdp }

    /** {@link ServerConfig.XdpOptions.Attach}, as typed. */
    enum XdpModeName { auto, native_, generic;
        @Override
        public String toString() {
            return this == native_ ? "native" : name();
        }
    }

    /** {@link DispatchMode}, as typed. */
    enum DispatchName { inline, virtual }

    /** SLF4J levels the CLI offers (also the {@link AbyssLogger} level attached). */
    enum LogLevel { error, info, debug, trace }

    @Spec
    CommandSpec spec;

    @Option(names = "--handler", paramLabel = "NAME", order = 0, description = "${COMPLETION-CANDIDATES}: echo answers without sessions, session_echo keeps one per peer; reflector reports each request's ECN and time in the socket, and answers 'B'+N with N x 1,200 B (to a peer not validated: at most 3x its request, unless --amplification-limit 0) (default: ${DEFAULT-VALUE})")
    HandlerName handler = HandlerName.echo;

    @ArgGroup(validate = false, heading = "%nSocket and offloads:%n", order = 1)
    SocketOptions socket = new SocketOptions();

    @ArgGroup(validate = false, heading = "%nLimits:%n", order = 2)
    Limits limits = new Limits();

    @ArgGroup(validate = false, heading = "%nTimeouts:%n", order = 3)
    Timeouts timeouts = new Timeouts();

    @ArgGroup(validate = false, heading = "%nDispatch:%n", order = 4)
    Dispatch dispatch = new Dispatch();

    @ArgGroup(validate = false, heading = "%nMetrics and health:%n", order = 5)
    Metrics metrics = new Metrics();

    @ArgGroup(validate = false, heading = "%nSocket options (the reference's transport_options):%n", order = 8)
    ListenFlags listen = new ListenFlags();

    @ArgGroup(validate = false, heading = "%nCPU placement:%n", order = 7)
    Placement placement = new Placement();

    @ArgGroup(validate = false, heading = "%nOn the open internet:%n  echo and reflector start with --rate-limit 200 --amplification-limit 3%n  (a server put on the internet must not be a weapon); 0 turns either off.%n", order = 9)
    OpenInternet openInternet = new OpenInternet();

    @ArgGroup(validate = false, heading = "%nDTLS:%n", order = 10)
    DtlsOptions dtls = new DtlsOptions();

    @Option(names = "--reply-prefix", paramLabel = "TEXT", order = 0, description = "--handler echo only: each reply is TEXT followed by the request, so a client sees which process answered (e.g. across a --handoff)")
    String replyPrefix;

    /** --handoff: true once handed off (the path is then the successor's business). */
    private volatile boolean handedOff;

    /** --takeover: the sockets received, answered once the server started or failed to. */
    private Handoff.Takeover takeover;

    @Option(names = "--log", paramLabel = "LEVEL", order = 6, description = "${COMPLETION-CANDIDATES}; trace logs every datagram's events (default: ${DEFAULT-VALUE})")
    LogLevel log = LogLevel.info;

    /** {@link ServerConfig.SocketOptions}: an option left out keeps the config's default. */
    static final class SocketOptions {
        @Option(names = "--port", paramLabel = "N", description = "UDP port, 0..65535; 0 lets the kernel pick one (default: 1234)")
        int port = 1234;

        @Option(names = "--bind", paramLabel = "ADDRESS", description = "IPv4 or IPv6 address to listen on (default: 0.0.0.0; :: for every address, dual stack)")
        String bind = "0.0.0.0";

        @Option(names = "--systemd", description = "serve on the datagram sockets systemd passed (socket activation: LISTEN_FDS, a .socket unit with ListenDatagram=, or systemd-socket-activate --datagram), one acceptor each; not with --port, --bind, --acceptors")
        boolean systemd;

        @Option(names = "--handoff", paramLabel = "PATH", description = "restart without loss, the running side: wait on this Unix-domain socket for a successor (--takeover PATH), hand it the sockets, stop once it serves, exit 0; if it fails to start, keep serving and wait again")
        java.nio.file.Path handoff;

        @Option(names = "--takeover", paramLabel = "PATH", description = "restart without loss, the successor's side: take the sockets of the server offering them at PATH (--handoff PATH) and serve on them, one acceptor each; not with --port, --bind, --acceptors, --systemd")
        java.nio.file.Path takeover;

        @Option(names = "--transport", paramLabel = "NAME", description = "${COMPLETION-CANDIDATES}; auto takes the best that works here and says which (default: auto)")
        TransportName transport = TransportName.auto;

        @Option(names = "--receive-buffer", paramLabel = "BYTES", description = "SO_RCVBUF of each socket; 0 (the default) asks for 4 MiB, which the kernel caps at net.core.rmem_max unless the process has CAP_NET_ADMIN")
        Integer receiveBuffer;

        @Option(names = "--batch", paramLabel = "N", description = "datagrams taken per receive call (recvmmsg), 1..1024 (default: 64)")
        Integer batch;

        @Option(names = "--gso", negatable = true,
                description = "coalesce replies to one peer into UDP_SEGMENT sends (--no-gso: one datagram per send; default: on, off with --transport nio)")
        Boolean gso;

        @Option(names = "--gro", negatable = true,
                description = "take coalesced receives (UDP_GRO) and split them (--no-gro: off; default: on, off with --transport nio)")
        Boolean gro;

        // ---- AF_XDP (--transport xdp)
        @Option(names = "--xdp-interface", paramLabel = "IFACE",
                description = "with --transport xdp: the network interface to serve (default: the one that has --bind)")
        String xdpInterface;

        @Option(names = "--xdp-queues", paramLabel = "N",
                description = "with --transport xdp: RX queues served from queue 0, one acceptor each (default: all of the interface's)")
        Integer xdpQueues;

        @Option(names = "--xdp-mode", paramLabel = "MODE", converter = XdpModeConverter.class,
                description = "with --transport xdp: native (in the driver), generic, or auto: native where the driver has it (default: auto)")
        XdpModeName xdpMode;

        @Option(names = "--xdp-copy", negatable = true,
                description = "with --transport xdp: copy mode (--no-xdp-copy: zero-copy only; default: zero-copy where the driver has it, else copy)")
        Boolean xdpCopy;

        @Option(names = "--xdp-umem-frames", paramLabel = "N",
                description = "with --transport xdp: UMEM frames of 2 KiB per queue, a power of two >= 256 (default: 4096)")
        Integer xdpUmemFrames;
    }

    /** Reads native, generic, auto. */
    static final class XdpModeConverter implements picocli.CommandLine.ITypeConverter<XdpModeName> {
        @Override
        public XdpModeName convert(String value) {
            return switch (value) {
                case "native" -> XdpModeName.native_;
                case "generic" -> XdpModeName.generic;
                case "auto" -> XdpModeName.auto;
                default -> throw new picocli.CommandLine.TypeConversionException("native, generic or auto, was '" + value + "'");
            };
        }
    }

    /** {@link ServerConfig.Limits}. */
    static final class Limits {
        @Option(names = "--acceptors", paramLabel = "N", description = "acceptor threads, each with its own SO_REUSEPORT socket, 1..1024 (default: the available processors, ${sys:abyss.cli.processors})")
        Integer acceptors;

        @Option(names = "--connections", paramLabel = "N|unlimited", converter = ConnectionsConverter.class,
                description = "cap on live sessions, one per remote peer, or unlimited; not with the stateless echo and reflector (default: 16384)")
        Integer connections;
    }

    /** {@link ServerConfig.Timeouts}. */
    static final class Timeouts {
        @Option(names = "--read-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
                description = "a session that receives nothing for this long ends; not with the stateless echo and reflector (default: 60s)")
        Duration readTimeout;
    }

    /** {@link ServerConfig.DispatchOptions}. */
    static final class Dispatch {
        @Option(names = "--dispatch", paramLabel = "MODE", description = "inline: callbacks on the acceptor threads; virtual: a virtual thread per session, session handlers only (default: inline)")
        DispatchName mode = DispatchName.inline;
    }

    /** {@link MetricsEndpoint}: off unless a port is given. */
    static final class Metrics {
        @Option(names = "--metrics-port", paramLabel = "N",
                description = "serve /metrics (Prometheus text) and /health (200 ok, 503 failed or stopping) over HTTP on this TCP port, 0..65535 (default: off)")
        Integer port;

        @Option(names = "--metrics-bind", paramLabel = "ADDRESS", description = "address of the metrics HTTP server (default: ${DEFAULT-VALUE}, this host only)")
        String bind = "127.0.0.1";
    }

    /** {@link ServerConfig.CpuPlacement}. */
    static final class Placement {
        @Option(names = "--pin-acceptors", arity = "0..1", fallbackValue = "", paramLabel = "CPUS",
                description = "pin acceptor i to one CPU: the i-th this process may run on, or the i-th of a comma-separated list (--pin-acceptors=0,2) (default: off)")
        String pinAcceptors;

        @Option(names = "--steer-by-cpu",
                description = "hand each datagram to acceptor (receiving CPU %% acceptors), a BPF program on the SO_REUSEPORT group; with --pin-acceptors and NIC queues aligned to the acceptors; not with --transport nio nor one acceptor (default: off)")
        boolean steerByCpu;
    }

    /** {@link ServerConfig.Defences}: an option left out keeps the config's default (off), except for echo and reflector. */
    static final class OpenInternet {
        /** What the stateless echo and reflector start with: NSD's rate, QUIC's factor. */
        static final int STATELESS_RATE_LIMIT = 200;
        static final int STATELESS_AMPLIFICATION_LIMIT = 3;

        @Option(names = "--rate-limit", paramLabel = "N",
                description = "replies per second to each source prefix (IPv4 /24, IPv6 /56) not validated, as DNS servers' RRL; 0 = off (default: 200 for echo and reflector, else off)")
        Integer rateLimit;

        @Option(names = "--rate-limit-burst", paramLabel = "N",
                description = "replies a quiet prefix may get at once (default: one second's worth, N of --rate-limit)")
        Integer rateLimitBurst;

        @Option(names = "--rate-limit-slip", paramLabel = "K",
                description = "one in K answers over the limit may be a minimal one (a handler asks Peer.rateLimit()); 0 = never (default: 2)")
        Integer rateLimitSlip;

        @Option(names = "--amplification-limit", paramLabel = "F",
                description = "bytes sent to a peer not validated stay within F x the bytes it sent (a stateless reply: F x its request), QUIC's rule; 0 = off (default: 3 for echo and reflector, else off)")
        Integer amplificationLimit;

        @Option(names = "--sessions-per-prefix", paramLabel = "N",
                description = "at most N live sessions per source prefix; a newcomer at the quota takes its own prefix's oldest session's place, never another's; 0 = off, session handlers only (default: off)")
        Integer sessionsPerPrefix;
    }

    /** The open-internet options into {@code b}; echo and reflector get their rate and amplification limits unless told otherwise. */
    private void openInternet(ServerConfig.Builder b) {
        boolean stateless = handler == HandlerName.echo || handler == HandlerName.reflector;
        Integer rate = openInternet.rateLimit != null ? openInternet.rateLimit
                : stateless ? Integer.valueOf(OpenInternet.STATELESS_RATE_LIMIT) : null;
        Integer factor = openInternet.amplificationLimit != null ? openInternet.amplificationLimit
                : stateless ? Integer.valueOf(OpenInternet.STATELESS_AMPLIFICATION_LIMIT) : null;
        if (rate != null) {
            option("--rate-limit", () -> b.rateLimit(rate));
        }
        if (openInternet.rateLimitBurst != null) {
            option("--rate-limit-burst", () -> b.rateLimitBurst(openInternet.rateLimitBurst));
        }
        if (openInternet.rateLimitSlip != null) {
            option("--rate-limit-slip", () -> b.rateLimitSlip(openInternet.rateLimitSlip));
        }
        if (factor != null) {
            option("--amplification-limit", () -> b.amplificationLimit(factor));
        }
        if (openInternet.sessionsPerPrefix != null) {
            option("--sessions-per-prefix", () -> b.sessionsPerPrefix(openInternet.sessionsPerPrefix));
        }
    }

    /** {@link dev.abyss.server.Dtls}: off unless a key store is given. */
    static final class DtlsOptions {
        @Option(names = "--dtls-keystore", paramLabel = "FILE.p12",
                description = "serve DTLS 1.2 with the private key and certificate chain in this PKCS#12 file; session handlers only (default: off, plaintext)")
        java.nio.file.Path keystore;

        @Option(names = "--dtls-password", paramLabel = "PASS", description = "password of --dtls-keystore (and of --dtls-truststore)")
        String password;

        @Option(names = "--dtls-client-auth", paramLabel = "MODE", description = "${COMPLETION-CANDIDATES}: ask clients for a certificate; need refuses a client without one (default: ${DEFAULT-VALUE})")
        ClientAuthName clientAuth = ClientAuthName.none;

        @Option(names = "--dtls-truststore", paramLabel = "FILE.p12", description = "PKCS#12 file of the certificates client certificates must be signed by (default: the JDK's)")
        java.nio.file.Path truststore;

        @Option(names = "--dtls-alpn", paramLabel = "P1,P2", split = ",", description = "ALPN protocols offered, in preference order (default: none)")
        java.util.List<String> alpn;
    }

    /** {@link dev.abyss.server.Dtls.ClientAuth}, as typed. */
    enum ClientAuthName { none, want, need }

    /** The DTLS settings of the flags, or null when none are given; a flag without --dtls-keystore is refused. */
    private dev.abyss.server.Dtls dtlsSettings() {
        if (dtls.keystore == null) {
            String stray = dtls.password != null ? "--dtls-password" : dtls.truststore != null ? "--dtls-truststore"
                    : dtls.alpn != null ? "--dtls-alpn" : dtls.clientAuth != ClientAuthName.none ? "--dtls-client-auth" : null;
            if (stray != null) {
                throw new ParameterException(spec.commandLine(), stray + " needs --dtls-keystore (DTLS is off without it)");
            }
            return null;
        }
        if (dtls.password == null) {
            throw new ParameterException(spec.commandLine(), "--dtls-keystore " + dtls.keystore + " needs --dtls-password");
        }
        if (handler == HandlerName.echo || handler == HandlerName.reflector) {
            throw new ParameterException(spec.commandLine(), "--dtls-keystore needs a session handler (DTLS keeps a handshake per peer); --handler "
                    + handler + " keeps no sessions: use --handler session_echo");
        }
        try {
            char[] pass = dtls.password.toCharArray();
            dev.abyss.server.Dtls.Builder b = dev.abyss.server.Dtls.fromKeyStore(dtls.keystore, pass);
            if (dtls.truststore != null) {
                b.trustStore(dtls.truststore, pass);
            }
            b.clientAuth(dev.abyss.server.Dtls.ClientAuth.valueOf(dtls.clientAuth.name().toUpperCase(Locale.ROOT)));
            if (dtls.alpn != null) {
                b.alpn(dtls.alpn.toArray(String[]::new));
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--dtls-keystore: " + e.getMessage());
        }
    }

    /** Runs the command; exits with its status unless it stopped normally. */
    public static void main(String[] args) {
        int status = commandLine().execute(args);
        if (status != 0) {
            System.exit(status);
        }
    }

    /** The command line with its error handling: a bad option prints one line naming it, and exits with 2. */
    static CommandLine commandLine() {
        System.setProperty("abyss.cli.processors", Integer.toString(Runtime.getRuntime().availableProcessors()));
        CommandLine cl = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true)
                .setOverwrittenOptionsAllowed(true); // the last one wins: bin/echo-server --port 5000
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("abyss: " + ex.getMessage());
            err.println("Try 'abyss --help' for the options.");
            return ex.getCommandLine().getCommandSpec().exitCodeOnInvalidInput();
        });
        return cl;
    }

    /**
     * The server's config from the options. A value the config refuses fails with a message that
     * names the flag, e.g. "--acceptors must be 1..1024, was 0".
     */
    ServerConfig config() {
        ServerConfig.Builder b = ServerConfig.builder();
        if (socket.systemd) {
            systemdSockets(b);
        } else if (socket.takeover != null) {
            for (String flag : new String[] {"--port", "--bind", "--acceptors"}) {
                if (spec.commandLine().getParseResult() != null && spec.commandLine().getParseResult().hasMatchedOption(flag)) {
                    throw new ParameterException(spec.commandLine(), flag + " contradicts --takeover: the old process's sockets are"
                            + " taken as they are, one acceptor each");
                }
            }
            if (takeover != null) {
                b.inheritedSockets(takeover.sockets());
            }
        } else {
            option("--port", () -> b.port(socket.port));
            try {
                b.bindAddress(InetAddress.getByName(socket.bind));
            } catch (UnknownHostException e) {
                throw new ParameterException(spec.commandLine(), "--bind: not an address: '" + socket.bind + "'");
            }
        }
        b.transport(switch (socket.transport) {
            case auto -> TransportKind.AUTO;
            case io_uring -> TransportKind.IO_URING;
            case epoll -> TransportKind.EPOLL;
            case nio -> TransportKind.NIO;
            case xdp -> TransportKind.XDP;
        });
        if (socket.xdpInterface != null) {
            option("--xdp-interface", () -> b.xdpInterface(socket.xdpInterface));
        }
        if (socket.xdpQueues != null) {
            option("--xdp-queues", () -> b.xdpQueues(socket.xdpQueues));
        }
        if (socket.xdpMode != null) {
            b.xdpAttach(switch (socket.xdpMode) {
                case auto -> ServerConfig.XdpOptions.Attach.AUTO;
                case native_ -> ServerConfig.XdpOptions.Attach.NATIVE;
                case generic -> ServerConfig.XdpOptions.Attach.GENERIC;
            });
        }
        if (socket.xdpCopy != null) {
            b.xdpCopy(socket.xdpCopy ? ServerConfig.XdpOptions.Copy.COPY : ServerConfig.XdpOptions.Copy.ZERO_COPY);
        }
        if (socket.xdpUmemFrames != null) {
            option("--xdp-umem-frames", () -> b.xdpUmemFrames(socket.xdpUmemFrames));
        }
        if (socket.receiveBuffer != null) {
            option("--receive-buffer", () -> b.receiveBufferSize(socket.receiveBuffer));
        }
        if (socket.batch != null) {
            option("--batch", () -> b.receiveBatchSize(socket.batch));
        }
        if (socket.gso != null) {
            b.gso(socket.gso);
        }
        if (socket.gro != null) {
            b.gro(socket.gro);
        }
        if (limits.acceptors != null) {
            option("--acceptors", () -> b.numAcceptors(limits.acceptors));
        }
        if (limits.connections != null) {
            option("--connections", () -> b.numConnections(limits.connections));
        }
        if (timeouts.readTimeout != null) {
            option("--read-timeout", () -> b.readTimeout(timeouts.readTimeout));
        }
        if (placement.pinAcceptors != null) {
            option("--pin-acceptors", () -> {
                if (placement.pinAcceptors.isBlank()) {
                    b.pinAcceptors(true);
                } else {
                    try {
                        b.pinAcceptors(java.util.Arrays.stream(placement.pinAcceptors.split(","))
                                .mapToInt(c -> Integer.parseInt(c.strip())).toArray());
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("pinAcceptors must be a comma-separated list of CPU numbers, was '" + placement.pinAcceptors + "'");
                    }
                }
            });
        }
        if (placement.steerByCpu) {
            b.steerByCpu(true);
        }
        listen.apply(b, (flag, value, set) -> { // a refusal names the flag and the value
            try {
                set.run();
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), flag + " " + value + ": " + e.getMessage());
            }
        });
        metricsAddress(); // a bad --metrics-port or --metrics-bind fails before the server starts
        b.shutdownTimeout(Duration.ofSeconds(5));
        b.dispatchMode(dispatch.mode == DispatchName.virtual ? DispatchMode.VIRTUAL_THREADS : DispatchMode.INLINE);
        if (handler == HandlerName.echo || handler == HandlerName.reflector) {
            if (dispatch.mode == DispatchName.virtual) {
                throw new ParameterException(spec.commandLine(), "--handler " + handler
                        + " is stateless and runs inline; use --handler session_echo with --dispatch virtual");
            }
            if (handler == HandlerName.echo && replyPrefix != null) {
                b.datagramHandler(prefixedEcho(replyPrefix));
            } else if (handler == HandlerName.echo) {
                b.datagramHandler(new StatelessEcho()); // echo keeps nothing per peer: no sessions at all
            } else {
                b.datagramHandler(new Reflector()).receiveTrafficClass(true).receiveTimestamps(true);
            }
        } else {
            b.handler(handler());
        }
        openInternet(b);
        b.dtls(dtlsSettings());
        try {
            return b.build();
        } catch (IllegalArgumentException e) { // options that contradict each other: the config's words
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** --reply-prefix: echo with the prefix in front, from a per-thread buffer. */
    private static DatagramHandler prefixedEcho(String prefix) {
        byte[] head = prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ThreadLocal<MemorySegment> buffers = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(head.length + 65536L));
        return (peer, data) -> {
            MemorySegment out = buffers.get();
            MemorySegment.copy(head, 0, out, ValueLayout.JAVA_BYTE, 0, head.length);
            long n = Math.min(data.byteSize(), out.byteSize() - head.length);
            MemorySegment.copy(data, 0, out, head.length, n);
            peer.send(out.asSlice(0, head.length + n));
        };
    }

    /** --systemd: the sockets systemd passed, instead of --port and --bind, which it refuses when given. */
    private void systemdSockets(ServerConfig.Builder b) {
        for (String flag : new String[] {"--port", "--bind", "--acceptors"}) {
            if (spec.commandLine().getParseResult() != null && spec.commandLine().getParseResult().hasMatchedOption(flag)) {
                throw new ParameterException(spec.commandLine(), flag + " contradicts --systemd: systemd binds the sockets,"
                        + " one acceptor serves each (ListenDatagram= in the .socket unit says where)");
            }
        }
        try {
            b.inheritedSockets(SystemdSockets.listenFds());
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new ParameterException(spec.commandLine(), "--systemd: " + e.getMessage());
        }
    }

    /** {@return where {@code --metrics-port} serves, or null without it} */
    InetSocketAddress metricsAddress() {
        if (metrics.port == null) {
            return null;
        }
        if (metrics.port < 0 || metrics.port > 65535) {
            throw new ParameterException(spec.commandLine(), "--metrics-port must be 0..65535, was " + metrics.port);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(metrics.bind), metrics.port);
        } catch (UnknownHostException e) {
            throw new ParameterException(spec.commandLine(), "--metrics-bind: not an address: '" + metrics.bind + "'");
        }
    }

    /** Applies one option to the builder; its refusal names the flag instead of the config option. */
    private void option(String flag, Runnable set) {
        try {
            set.run();
        } catch (IllegalArgumentException e) {
            // the config's messages start with the option's name: "numAcceptors must be 1..1024, was 0"
            String m = String.valueOf(e.getMessage());
            int space = m.indexOf(' ');
            throw new ParameterException(spec.commandLine(), space > 0 ? flag + m.substring(space) : flag + ": " + m);
        }
    }

    private Handler<?> handler() {
        return switch (handler) {
            case echo, session_echo -> new Echo();
            case hello -> new HelloWorld();
            case messenger -> new Messenger();
            case reflector -> throw new IllegalStateException("reflector is a DatagramHandler");
        };
    }

    @Override
    public Integer call() throws InterruptedException {
        if (socket.takeover != null && socket.systemd) {
            throw new ParameterException(spec.commandLine(), "--takeover contradicts --systemd: the sockets come from one of them");
        }
        config(); // options checked before the old process is asked for anything
        if (socket.takeover != null) {
            try {
                takeover = Handoff.takeOver(socket.takeover, Duration.ofSeconds(30));
            } catch (IOException e) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("abyss: " + e.getMessage());
                err.flush();
                return 1;
            }
        }
        ServerConfig config;
        try {
            config = config();
        } catch (ParameterException e) {
            if (takeover != null) {
                takeover.close(); // tells the old process this one failed: it keeps serving
            }
            throw e;
        }
        // before the first logger is created: slf4j-simple reads its level once
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", log.name());
        // the original's attach_logger(level): --log trace shows every datagram's connection events
        AbyssLogger.attach(AbyssLogger.Level.valueOf(log.name().toUpperCase(Locale.ROOT)));
        PrintWriter out = spec.commandLine().getOut();
        Server server;
        try {
            server = Abyss.start(config);
        } catch (IOException | IllegalStateException | IllegalArgumentException e) { // IAE: an option's value the kernel refused
            if (takeover != null) {
                try {
                    takeover.failed(e); // the old process resumes
                } catch (IOException ignored) {
                    // it times out and resumes anyway
                }
                takeover.close();
            }
            PrintWriter err = spec.commandLine().getErr();
            err.println("abyss: cannot start on udp " + Addresses.format(config.socket().bindAddress()) + ": " + e.getMessage());
            err.flush();
            return 1;
        }
        MetricsEndpoint endpoint = null;
        InetSocketAddress metricsAddress = metricsAddress();
        if (metricsAddress != null) {
            try {
                endpoint = MetricsEndpoint.start(server, metricsAddress);
            } catch (IOException e) {
                server.close();
                PrintWriter err = spec.commandLine().getErr();
                err.println("abyss: cannot serve metrics on tcp " + Addresses.format(metricsAddress) + ": " + e.getMessage());
                err.flush();
                return 1;
            }
        }
        int n = config.limits().numAcceptors();
        if (takeover != null) {
            try {
                takeover.started(); // the old process stops receiving now
            } catch (IOException e) {
                spec.commandLine().getErr().println("abyss: " + e.getMessage());
            }
            takeover.close();
        }
        for (InheritedSocket s : config.inheritedSockets()) {
            out.println("abyss: " + (socket.takeover != null ? "taken over" : "systemd") + " socket fd " + s.fd() + (s.name() != null ? " '" + s.name() + "'" : "")
                    + " on udp " + Addresses.format(s.localAddress()));
        }
        out.println("abyss: " + handler + " listening on udp " + Addresses.format(server.localAddress()) + " ("
                + server.transport().name().toLowerCase(Locale.ROOT) + " transport, "
                + (server.transportDetail().isEmpty() ? count(n, "acceptor") : server.transportDetail() + ", an acceptor a queue") + ", "
                + (dispatch.mode == DispatchName.virtual ? "virtual-thread" : "inline") + " dispatch)");
        String listening = ListenFlags.describe(server, config);
        if (!listening.isEmpty()) {
            out.println("abyss: socket options: " + listening);
        }
        config.dtls().ifPresent(d -> out.println("abyss: DTLS on (" + String.join(", ", dev.abyss.server.Dtls.PROTOCOLS) + ", client auth "
                + d.clientAuth().name().toLowerCase(Locale.ROOT) + (d.alpn().isEmpty() ? "" : ", ALPN " + String.join(",", d.alpn())) + ")"));
        if (endpoint != null) {
            String http = "http://" + Addresses.format(endpoint.address());
            out.println("abyss: metrics on " + http + "/metrics, health on " + http + "/health");
        }
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        MetricsEndpoint metricsEndpoint = endpoint;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (metricsEndpoint != null) {
                metricsEndpoint.stopping(); // /health says so while the sessions finish
            }
            server.close();
            if (socket.handoff != null && !handedOff) {
                try {
                    java.nio.file.Files.deleteIfExists(socket.handoff); // our offer's socket; after a handoff it may be the successor's
                } catch (IOException ignored) {
                    // left for the next release's offer to report
                }
            }
            if (metricsEndpoint != null) {
                metricsEndpoint.close();
            }
            ServerStats st = server.stats();
            out.println("abyss: stopped after " + st.datagramsIn() + " datagrams in, " + st.datagramsOut() + " out");
            out.flush();
            stopped.countDown();
        }, "abyss-shutdown"));
        if (socket.handoff != null) {
            Thread offer = new Thread(() -> offerUntilHandedOff(server, socket.handoff, metricsEndpoint, stopped, out), "abyss-handoff");
            offer.setDaemon(true);
            offer.start();
            out.println("abyss: offering the sockets at " + socket.handoff + " (a successor: --takeover " + socket.handoff + ")");
            out.flush();
        }
        if (handler == HandlerName.messenger) {
            Thread input = new Thread(() -> postStdin(server), "abyss-stdin");
            input.setDaemon(true);
            input.start();
        }
        printStatsUntilStopped(server, stopped, out);
        return 0;
    }

    /** --handoff: offers until a successor serves (then the process ends, 0), again after each failed attempt. */
    private void offerUntilHandedOff(Server server, java.nio.file.Path path, MetricsEndpoint endpoint, CountDownLatch stopped, PrintWriter out) {
        PrintWriter err = spec.commandLine().getErr();
        int inTheWay = 0;
        while (!server.isStopped()) {
            try {
                server.handOff(path, null, Duration.ofSeconds(30), Duration.ofSeconds(5));
                handedOff = true;
                ServerStats st = server.stats();
                out.println("abyss: handed off to the successor at " + path + " after " + st.datagramsIn() + " datagrams in, "
                        + st.datagramsOut() + " out");
                out.flush();
                if (endpoint != null) {
                    endpoint.close();
                }
                stopped.countDown();
                return;
            } catch (IOException | RuntimeException e) {
                err.println("abyss: " + e.getMessage());
                err.flush();
                if (e instanceof IllegalStateException) {
                    return; // stopped, or NIO: offering again would fail the same way
                }
                if (e.getMessage().contains("cannot listen there")) {
                    if (++inTheWay > 10) {
                        return; // a stale file: the README says to remove it
                    }
                    try {
                        Thread.sleep(1000); // the previous release may not have removed it yet
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    private static void postStdin(Server server) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
            String line;
            while ((line = in.readLine()) != null) {
                Messenger.Send msg = new Messenger.Send(line);
                server.forEachSession(s -> s.post(msg));
            }
        } catch (IOException ignored) {
            // stdin closed: nothing more to post
        }
    }

    private static void printStatsUntilStopped(Server server, CountDownLatch stopped, PrintWriter out) throws InterruptedException {
        ServerStats last = server.stats();
        while (!stopped.await(STATS_PERIOD_SECONDS, TimeUnit.SECONDS)) {
            ServerStats now = server.stats();
            String line = statsLine(last, now);
            if (line != null) {
                out.println(line);
                out.flush();
            }
            last = now;
        }
    }

    /**
     * The periodic line, or null when nothing came in, went out or was dropped by the kernel since
     * {@code last}: rates, live sessions, the drops since start with each cause that has any (one
     * cause per counter), kernel drops, receive errors apart from receive pauses (a pause loses
     * nothing), handler errors.
     */
    static String statsLine(ServerStats last, ServerStats now) {
        long in = now.datagramsIn() - last.datagramsIn();
        long out = now.datagramsOut() - last.datagramsOut();
        long kernel = now.kernelDrops() - last.kernelDrops();
        if (in == 0 && out == 0 && kernel == 0) {
            return null;
        }
        double seconds = STATS_PERIOD_SECONDS;
        return String.format(Locale.ROOT, "abyss: %,.1f in/s, %,.1f out/s, %s, %s, kernel drops %d, receive errors %d, "
                        + "receive pauses %d, %s%s",
                in / seconds, out / seconds, count(now.sessionsLive(), "session"), drops(now), now.kernelDrops(),
                now.receiveErrors(), now.receivePauses(), count(now.handlerErrors(), "handler error"),
                now.prefixQuota() == 0 ? "" : ", prefix quota met " + now.prefixQuota())
                + (now.dtlsHandshakesCompleted() + now.dtlsHandshakesFailed() + now.get(ServerStats.Counter.DTLS_COOKIES_SENT) == 0 ? ""
                : String.format(Locale.ROOT, ", DTLS handshakes %d, failed %d, cookies sent %d", now.dtlsHandshakesCompleted(),
                now.dtlsHandshakesFailed(), now.get(ServerStats.Counter.DTLS_COOKIES_SENT)))
                + (now.xdpSocketSends() + now.xdpHopsContested() == 0 ? ""
                : String.format(Locale.ROOT, ", XDP socket sends %d, hops contested %d", now.xdpSocketSends(), now.xdpHopsContested()));
    }

    /** "0 drops", or "5 drops (truncated 2, send queue full 3)": the total and each cause that has any. */
    static String drops(ServerStats st) {
        long[] counts = {st.droppedTableFull(), st.droppedMailboxFull(), st.postQueueFull(), st.droppedSuspended(),
                st.droppedSessionEnded(), st.truncated(), st.sendQueueFull(), st.sendBatchFull(), st.sendErrors(),
                st.unreachableForged(), st.rateLimited(), st.amplificationLimited(), st.xdpFramesRefused()};
        String[] causes = {"table full", "mailbox full", "post queue full", "suspended", "session ended", "truncated",
                "send queue full", "send batch full", "send errors", "forged ICMP", "rate limited",
                "amplification limited", "XDP frames refused"};
        long total = 0;
        StringBuilder each = new StringBuilder();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] != 0) {
                total += counts[i];
                each.append(each.isEmpty() ? " (" : ", ").append(causes[i]).append(' ').append(counts[i]);
            }
        }
        return count(total, "drop") + (each.isEmpty() ? "" : each.append(')').toString());
    }

    /** "1 session", "2 sessions". */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    /** {@code --connections}: a count, or {@code unlimited}. */
    static final class ConnectionsConverter implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            if (value.equalsIgnoreCase("unlimited")) {
                return ServerConfig.UNLIMITED;
            }
            int n;
            try {
                n = Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("must be a number or 'unlimited', was '" + value + "'");
            }
            if (n < 0) {
                throw new CommandLine.TypeConversionException("must be >= 0 or 'unlimited', was " + n);
            }
            return n;
        }
    }

    /** Durations as people type them: {@code 500ms}, {@code 60s}, {@code 5m}, {@code 1h}, a bare number of seconds, or ISO-8601. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            Duration d;
            try {
                if (v.startsWith("pt") || v.startsWith("p")) {
                    d = Duration.parse(value.strip());
                } else if (v.endsWith("ms")) {
                    d = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
                } else if (v.endsWith("s")) {
                    d = Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
                } else if (v.endsWith("m")) {
                    d = Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
                } else if (v.endsWith("h")) {
                    d = Duration.ofHours(Long.parseLong(v.substring(0, v.length() - 1)));
                } else {
                    d = Duration.ofSeconds(Long.parseLong(v));
                }
            } catch (RuntimeException e) {
                throw new CommandLine.TypeConversionException("not a duration: '" + value + "' (e.g. 500ms, 60s, 5m, 1h)");
            }
            if (d.isNegative() || d.isZero()) {
                throw new CommandLine.TypeConversionException("must be positive, was '" + value + "'");
            }
            return d;
        }
    }

    /** {@code --version}: the jar's Implementation-Version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"abyss " + (v == null ? "(development build)" : v) + ", Java " + Runtime.version()};
        }
    }
}
