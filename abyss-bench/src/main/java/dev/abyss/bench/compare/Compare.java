package dev.abyss.bench.compare;

import dev.abyss.bench.dtls.DtlsPki;
import dev.abyss.bench.load.BulkOptions;
import dev.abyss.bench.load.BulkResult;
import dev.abyss.bench.load.DtlsClient;
import dev.abyss.bench.load.HandshakeLoad;
import dev.abyss.bench.load.LoadGenerator;
import dev.abyss.bench.load.LoadOptions;
import dev.abyss.bench.load.LoadResult;

import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The side-by-side run: every echo server in turn against the same load generator settings,
 * interleaved (A B C A B C ...) over several rounds; medians, ratios to the C reference and to
 * Netty epoll, syscalls per echoed datagram, a Markdown table and a PNG chart.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp abyss-bench/target/benchmarks.jar dev.abyss.bench.compare.Compare \
 *      [--quick] [--rounds N] [--measure 3s] [--out DIR] [--only ID,..] [--scenarios ID,..] [--rate PPS] [--no-syscalls]
 *      [--bulk-peers P] [--bulk-window W]
 * </pre>
 *
 * <ul>
 * <li>{@code --quick}: 1 round of 2 s (default: 3 rounds of 3 s); an explicit --rounds / --measure still wins.</li>
 * <li>{@code --out DIR}: where comparison.md and comparison.png go. Default: {@code compare/} next to
 *     the benchmarks jar, i.e. {@code abyss-bench/target/compare}, whatever the current directory: a
 *     run never overwrites the tracked {@code bench-results/} unless given {@code --out bench-results}.
 *     The C references are compiled into that same {@code compare/} directory in every case.</li>
 * <li>{@code --only}: the servers to run, by id (they keep the table's order): c-ref, c-iouring,
 *     netty-epoll, netty-iouring, netty-nio, jdk, abyss-segment, abyss-handler, abyss-segment-x2 (all
 *     three on EPOLL), abyss-uring, abyss-nio (SegmentHandler echo on IO_URING / NIO), abyss-stateless and
 *     abyss-stateless-limited (the DatagramHandler echo on EPOLL, reply limits off / on at 10M replies/s per
 *     prefix and 3x: the cost of the limits below them; {@code --only abyss-stateless,abyss-stateless-limited}).</li>
 * <li>{@code --only} also takes the bulk scenario's servers: c-ref-bulk (C, sendmmsg, no GSO), netty-bulk,
 *     netty-bulk-gso (Netty epoll, N DatagramPackets / SegmentedDatagramPackets), abyss-bulk,
 *     abyss-bulk-gso (Abyss EPOLL, gso off / on), abyss-uring-bulk-gso (IO_URING, gso on).</li>
 * <li>{@code --scenarios}: the loads to run, by id: 64B-1, 64B-16, 64B-1024, 1400B-16, latency (the
 *     echo servers), bulk-16, bulk-64 (the bulk servers, see {@link dev.abyss.bench.load.Bulk}: a
 *     request answered with 16 or 64 datagrams of 1,200 bytes, a UDP_GRO client), bulk-16-nogro,
 *     bulk-64-nogro (the same, a client without GRO); groups: echo, bulk, bulk-nogro, bulk-all.
 *     Default: the echo scenarios, bulk-16 and bulk-64. A server runs only the scenarios of its kind
 *     (echo or bulk). The echo table goes to comparison.md / .png, the bulk one to bulk.md / .png.</li>
 * <li>{@code --rate PPS}: the offered rate of the latency scenario. Default: half the 64 B, 16-peer
 *     median of c-ref, or of the first server run when c-ref is not; 100,000/s when 64B-16 is not run.</li>
 * <li>{@code --bulk-peers}, {@code --bulk-window}: the bulk scenarios' peers (default 16) and requests
 *     in flight per peer (default 4).</li>
 * <li>{@code --scenarios dtls} (dtls-64B-16, dtls-1200B-16, dtls-handshakes, dtls-sessions): the DTLS
 *     comparison, run by its servers only: scandium, scandium-nocookie (Californium's Scandium, with
 *     and without the HelloVerifyRequest; the latter in dtls-handshakes only), abyss-dtls,
 *     abyss-dtls-uring, abyss-dtls-x2 (bin/abyss --handler session_echo with DTLS on, EPOLL / IO_URING,
 *     1 acceptor; EPOLL with 2, as many threads as Scandium's receiver and connector), abyss-plain
 *     (the same in the clear). The table goes to dtls.md. {@code --dtls-sessions N}: the sessions of
 *     dtls-sessions (default 10,000). {@code --cli-before JAR}: one more DTLS server,
 *     abyss-dtls-before, the CLI jar of another build (an A/B of a change, in the same run).
 *     {@code --warmup D}: the load before each fresh server's first measured window (default 2 s;
 *     each server is a new JVM every round, and the JDK's DTLS path takes longer than that to
 *     compile on a busy machine).</li>
 * <li>{@code --no-syscalls}: do not count syscalls (see {@link SyscallCounter}; n/a without perf).</li>
 * <li>{@code --veth} (first): the veth scenario instead, its own options ({@link VethCompare}).</li>
 * </ul>
 *
 * A quick A/B of the two C references: {@code Compare --quick --only c-ref,c-iouring --scenarios 64B-16}.
 * A server that does not start (a transport not built yet, say) is reported in its row and not tried
 * again; the others run.
 */
public final class Compare {
    static final List<Contender> CONTENDERS = List.of(
            Contender.of("c-ref", 1),
            Contender.of("c-iouring", 1),
            Contender.of("netty-epoll", 1),
            Contender.of("netty-iouring", 1),
            Contender.of("netty-nio", 1),
            Contender.of("jdk", 1),
            Contender.abyss("abyss-segment", "abyss-segment", 1, "EPOLL"),
            Contender.abyss("abyss-handler", "abyss-handler", 1, "EPOLL"),
            Contender.abyss("abyss-segment", "abyss-segment", 2, "EPOLL"),
            Contender.abyss("abyss-uring", "abyss-segment", 1, "IO_URING"),
            Contender.abyss("abyss-nio", "abyss-segment", 1, "NIO"),
            // the stateless echo without and with the open-internet reply limits (on, at a rate below them)
            Contender.abyss("abyss-stateless", "abyss-stateless", 1, "EPOLL"),
            Contender.abyss("abyss-stateless-limited", "abyss-stateless-limited", 1, "EPOLL"),
            // the bulk scenario's servers (run against the bulk scenarios only)
            Contender.of("c-ref-bulk", 1),
            Contender.of("netty-bulk", 1),
            Contender.of("netty-bulk-gso", 1),
            Contender.abyss("abyss-bulk", "abyss-bulk", 1, "EPOLL"),
            Contender.abyss("abyss-bulk-gso", "abyss-bulk-gso", 1, "EPOLL"),
            Contender.abyss("abyss-uring-bulk-gso", "abyss-bulk-gso", 1, "IO_URING"),
            // the DTLS comparison's servers (run against the DTLS scenarios only)
            Contender.of("scandium", 1),
            Contender.of("scandium-nocookie", 1),
            Contender.abyss("abyss-dtls", "abyss-cli-dtls", 1, "epoll"),
            Contender.abyss("abyss-dtls-uring", "abyss-cli-dtls", 1, "io_uring"),
            Contender.abyss("abyss-dtls", "abyss-cli-dtls", 2, "epoll"), // as many threads as Scandium's receiver + connector
            Contender.abyss("abyss-plain", "abyss-cli-plain", 1, "epoll"));
    /** Every scenario --scenarios knows. */
    static final List<Scenario> SCENARIOS = List.of(Scenario.SMALL_1, Scenario.SMALL_16, Scenario.SMALL_1024,
            Scenario.LARGE_16, Scenario.LATENCY, Scenario.BULK_16, Scenario.BULK_64, Scenario.BULK_16_NOGRO, Scenario.BULK_64_NOGRO,
            Scenario.DTLS_64, Scenario.DTLS_1200, Scenario.DTLS_HANDSHAKES, Scenario.DTLS_SESSIONS);
    /** What runs without --scenarios: every echo scenario and the bulk ones with a GRO client. */
    static final List<Scenario> DEFAULT_SCENARIOS = List.of(Scenario.SMALL_1, Scenario.SMALL_16, Scenario.SMALL_1024,
            Scenario.LARGE_16, Scenario.LATENCY, Scenario.BULK_16, Scenario.BULK_64);
    /** Names --scenarios takes for several scenarios at once. */
    static final Map<String, String> SCENARIO_GROUPS = Map.of(
            "echo", "64B-1,64B-16,64B-1024,1400B-16,latency",
            "bulk", "bulk-16,bulk-64",
            "bulk-nogro", "bulk-16-nogro,bulk-64-nogro",
            "bulk-all", "bulk-16,bulk-64,bulk-16-nogro,bulk-64-nogro",
            "dtls", "dtls-64B-16,dtls-1200B-16,dtls-handshakes,dtls-sessions");
    /** The C references: kind to its source in this jar's resources and the mode it runs in. */
    static final Map<String, CReference> C_REFERENCES = Map.of(
            "c-ref", new CReference("echo_ref.c", List.of()),
            "c-iouring", new CReference("echo_uring.c", List.of()),
            "c-ref-bulk", new CReference("echo_ref.c", List.of("bulk")));
    private static final long DEFAULT_LATENCY_RATE = 100_000;
    /** Handshakes in flight while the memory scenario establishes its sessions (its rate does not matter there). */
    private static final int SESSIONS_IN_FLIGHT = 64;

    private Compare() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--veth")) {
            VethCompare.main(args); // the veth scenario: namespaces, pinned cores, CPU per reply (see VethCompare)
            return;
        }
        Integer rounds = null;
        Duration measure = null;
        boolean quick = false;
        Path out = null;
        List<Contender> contenders = CONTENDERS;
        List<Scenario> scenarios = DEFAULT_SCENARIOS;
        long fixedRate = 0;
        boolean countSyscalls = true;
        int bulkPeers = Scenario.BULK_PEERS;
        int bulkWindow = Scenario.BULK_WINDOW;
        int dtlsSessions = Scenario.DTLS_SESSIONS_DEFAULT;
        Path cliBefore = null;
        Duration firstWarmupOption = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--quick" -> quick = true;
                    case "--rounds" -> rounds = Integer.parseInt(value(args, ++i, a));
                    case "--measure" -> measure = parseDuration(value(args, ++i, a));
                    case "--out" -> out = Path.of(value(args, ++i, a));
                    case "--only" -> contenders = pick(value(args, ++i, a), CONTENDERS, Contender::id, "--only");
                    case "--scenarios" -> scenarios = pick(expandGroups(value(args, ++i, a)), SCENARIOS, Scenario::id, "--scenarios");
                    case "--rate" -> fixedRate = Long.parseLong(value(args, ++i, a));
                    case "--no-syscalls" -> countSyscalls = false;
                    case "--bulk-peers" -> bulkPeers = Integer.parseInt(value(args, ++i, a));
                    case "--bulk-window" -> bulkWindow = Integer.parseInt(value(args, ++i, a));
                    case "--dtls-sessions" -> dtlsSessions = Integer.parseInt(value(args, ++i, a));
                    case "--cli-before" -> cliBefore = Path.of(value(args, ++i, a));
                    case "--warmup" -> firstWarmupOption = parseDuration(value(args, ++i, a));
                    case "-h", "--help" -> {
                        System.out.println(usage());
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (rounds != null && rounds < 1 || fixedRate < 0) {
                throw new IllegalArgumentException("--rounds must be >= 1 and --rate >= 0");
            }
            // the bulk scenarios' shape, checked as the load generator checks it
            try {
                new BulkOptions(new InetSocketAddress("127.0.0.1", 9), bulkPeers, bulkWindow, 1, false, Duration.ofSeconds(1), 0, false);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage().replace("--peers", "--bulk-peers").replace("--window", "--bulk-window"));
            }
            if (dtlsSessions < 1 || dtlsSessions > 1_000_000) {
                throw new IllegalArgumentException("--dtls-sessions must be 1..1000000, was " + dtlsSessions);
            }
            if (cliBefore != null) { // an A/B in one run: another build's CLI as one more DTLS server, interleaved with the rest
                if (!Files.isRegularFile(cliBefore)) {
                    throw new IllegalArgumentException("--cli-before: no such file " + cliBefore);
                }
                ServerProcess.cliBefore = cliBefore.toAbsolutePath();
                List<Contender> withBefore = new ArrayList<>(contenders);
                withBefore.add(Contender.abyss(ServerProcess.BEFORE, "abyss-cli-dtls", 1, "epoll"));
                contenders = List.copyOf(withBefore);
            }
            int bp = bulkPeers;
            int bw = bulkWindow;
            int ds = dtlsSessions;
            scenarios = scenarios.stream().map(s -> s.bulk() ? s.withShape(bp, bw) : s.sessions() ? s.withSessions(ds) : s).toList();
        } catch (IllegalArgumentException e) { // NumberFormatException included
            System.err.println("compare: " + e.getMessage() + "\n" + usage());
            System.exit(2);
        }
        // a bulk server runs the bulk scenarios only, an echo server the others: drop those with nothing to run
        List<Scenario> chosen = scenarios;
        List<Contender> idle = contenders.stream().filter(c -> chosen.stream().noneMatch(c::runs)).toList();
        if (!idle.isEmpty() && contenders != CONTENDERS) {
            System.err.println("compare: nothing to run for " + String.join(", ", idle.stream().map(Contender::id).toList())
                    + " (bulk servers run the bulk scenarios only, DTLS servers the dtls ones, echo servers the others;"
                    + " a -nocookie server dtls-handshakes only)");
        }
        contenders = contenders.stream().filter(c -> !idle.contains(c)).toList();
        if (contenders.isEmpty()) {
            System.err.println("compare: no server left to run for these scenarios\n" + usage());
            System.exit(2);
        }
        int nRounds = rounds != null ? rounds : quick ? 1 : 3;
        Duration window = measure != null ? measure : quick ? Duration.ofMillis(2000) : Duration.ofSeconds(3);
        Duration firstWarmup = firstWarmupOption != null ? firstWarmupOption : quick ? Duration.ofMillis(1500) : Duration.ofSeconds(2);
        Duration warmup = quick ? Duration.ofMillis(300) : Duration.ofMillis(700);
        Path jar = Path.of(Compare.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        // build products (the C references, perf's scratch files) stay next to the jar whatever --out says
        Path work = jar.getParent().resolve("compare");
        try {
            Files.createDirectories(work);
        } catch (IOException e) {
            work = Files.createTempDirectory("abyss-compare");
        }
        if (out == null) {
            out = work;
        }
        Files.createDirectories(out);

        Map<Contender, Map<Scenario, List<Measured>>> measured = new LinkedHashMap<>();
        contenders.forEach(c -> measured.put(c, new LinkedHashMap<>()));
        Map<Contender, String> failed = new LinkedHashMap<>();
        Results.Run run = new Results.Run(contenders, scenarios, measured, failed);
        Map<String, Path> natives = compileReferences(contenders, work, failed);
        DtlsPki pki = contenders.stream().anyMatch(Contender::encrypted) ? DtlsPki.generate(work.resolve("dtls")) : null;
        DtlsClient dtlsClient = pki == null ? null : DtlsClient.trustingAnyServer();

        String syscallNote = "";
        if (countSyscalls) {
            String why = SyscallCounter.unavailableReason();
            if (why != null) {
                System.err.println("compare: syscalls not counted: " + why);
                syscallNote = " (n/a here: " + why + ")";
                countSyscalls = false;
            }
        } else {
            syscallNote = " (not counted: --no-syscalls)";
        }

        // the latency run's rate: half of the reference's 64 B, 16-peer peak, measured in this run
        Contender peakOf = run.named("c-ref") != null ? run.named("c-ref")
                : contenders.stream().filter(c -> !c.bulk() && !c.dtls()).findFirst().orElse(contenders.getFirst());
        String latencyRate = "";
        long t0 = System.nanoTime();
        for (int round = 1; round <= nRounds; round++) {
            for (Contender c : contenders) {
                if (failed.containsKey(c)) {
                    continue;
                }
                int port = freePort();
                ServerProcess server;
                try {
                    server = ServerProcess.start(c, port, jar, natives, pki);
                } catch (IOException e) {
                    System.err.println("compare: " + e.getMessage() + " (not tried again)");
                    failed.put(c, e.getMessage().replaceFirst("^.* did not start: ", ""));
                    continue;
                }
                try (server) {
                    boolean first = true;
                    for (Scenario s : scenarios) {
                        if (!c.runs(s)) {
                            continue;
                        }
                        try {
                            if (s.handshakes() || s.sessions()) {
                                measured.get(c).computeIfAbsent(s, k -> new ArrayList<>())
                                        .add(s.handshakes() ? handshakes(c, s, port, server, dtlsClient, first ? firstWarmup : warmup, window, round)
                                                : sessions(c, s, port, server, dtlsClient, round));
                                first = false;
                                continue;
                            }
                            if (s.bulk()) {
                                measured.get(c).computeIfAbsent(s, k -> new ArrayList<>())
                                        .add(bulk(c, s, port, server, first ? firstWarmup : warmup, window, countSyscalls, work, round));
                                first = false;
                                continue;
                            }
                            LoadOptions o = LoadOptions.of(new InetSocketAddress("127.0.0.1", port), s.peers(), s.window(), s.size(), window);
                            if (c.encrypted()) {
                                o = o.withDtls(dtlsClient);
                            }
                            if (s.atHalfPeak()) {
                                double peak = Results.median(run.of(peakOf, Scenario.SMALL_16), Results::echoes);
                                long rate;
                                if (fixedRate > 0) {
                                    rate = fixedRate;
                                    latencyRate = String.format(Locale.ROOT, "%,d/s (--rate)", rate);
                                } else if (!Double.isNaN(peak)) {
                                    rate = Math.max(1000, Math.round(peak / 2));
                                    latencyRate = String.format(Locale.ROOT, "half of %s's 64 B, 16-peer peak (last: %,d/s)", peakOf.label(), rate);
                                } else {
                                    rate = DEFAULT_LATENCY_RATE;
                                    latencyRate = String.format(Locale.ROOT, "%,d/s (64 B, 16 peers was not measured)", rate);
                                }
                                o = o.withRate(rate);
                            }
                            LoadGenerator.run(o.withDuration(first ? firstWarmup : warmup));
                            first = false;
                            SyscallCounter counter = countSyscalls ? attach(server.pid(), work) : null;
                            LoadResult r;
                            long syscalls = -1;
                            Cpu cpu = Cpu.start(server);
                            try {
                                r = LoadGenerator.run(o, counter);
                            } finally {
                                if (counter != null) {
                                    syscalls = counter.finish();
                                }
                            }
                            cpu.stop(server);
                            double perEcho = Double.NaN;
                            if (syscalls >= 0 && r.echoed() > 0) {
                                perEcho = syscalls / (double) r.echoed();
                            } else if (counter != null && syscalls < 0) {
                                System.err.println("compare: syscalls of " + c.label() + " not counted: " + counter.problem());
                            }
                            measured.get(c).computeIfAbsent(s, k -> new ArrayList<>()).add(Measured.echo(r, perEcho, cpu.client, cpu.server));
                            System.err.printf(Locale.ROOT, "round %d  %-18s %-34s %,10.0f/s  p99 %8.1f µs  lost %d  corrupt %d  syscalls/echo %s"
                                            + "  cores: server %.2f, load generator %.2f (it allocated %,.0f B / echo)%n",
                                    round, c.label(), s.label(), r.echoesPerSecond(), r.p99Micros(), r.lost(), r.corrupt(),
                                    Double.isNaN(perEcho) ? "n/a" : String.format(Locale.ROOT, "%.3f", perEcho), cpu.server, cpu.client,
                                    r.clientBytesPerEcho());
                        } catch (javax.net.ssl.SSLException e) {
                            // a DTLS run whose handshakes did not complete: this round has no figure for it, the others go on
                            System.err.printf(Locale.ROOT, "round %d  %-18s %-34s failed: %s%n", round, c.label(), s.label(), e.getMessage());
                        }
                    }
                }
            }
        }
        double minutes = (System.nanoTime() - t0) / 60e9;
        String command = "java --enable-native-access=ALL-UNNAMED -cp abyss-bench/target/benchmarks.jar dev.abyss.bench.compare.Compare"
                + (args.length == 0 ? "" : " " + String.join(" ", args));
        Results.Run echoRun = run.part(false);
        if (!echoRun.contenders().isEmpty()) {
            String table = Results.markdown(echoRun, nRounds, window, latencyRate, syscallNote, Results.machine(), command, minutes);
            Files.writeString(out.resolve("comparison.md"), table);
            Results.chart(echoRun, out.resolve("comparison.png"));
            System.out.println(table);
            System.out.println("written: " + out.resolve("comparison.md") + ", " + out.resolve("comparison.png"));
        }
        Results.Run dtlsRun = run.dtlsPart();
        if (!dtlsRun.contenders().isEmpty()) {
            String table = Results.dtlsMarkdown(dtlsRun, nRounds, window, Results.machine(), command, minutes);
            Files.writeString(out.resolve("dtls.md"), table);
            System.out.println(table);
            System.out.println("written: " + out.resolve("dtls.md"));
        }
        Results.Run bulkRun = run.part(true);
        if (!bulkRun.contenders().isEmpty()) {
            String table = Results.bulkMarkdown(bulkRun, nRounds, window, syscallNote, Results.machine(), command, minutes);
            Files.writeString(out.resolve("bulk.md"), table);
            Results.bulkChart(bulkRun, out.resolve("bulk.png"));
            System.out.println(table);
            System.out.println("written: " + out.resolve("bulk.md") + ", " + out.resolve("bulk.png"));
        }
    }

    /** CPU used over a measured window, in cores: the load generator's process ({@code client}) and the server's. */
    private static final class Cpu {
        private final long clientStart;
        private final double serverStart;
        private final long wallStart;
        double client = Double.NaN;
        double server = Double.NaN;

        private Cpu(ServerProcess s) {
            clientStart = processCpuNanos();
            serverStart = s.cpuSeconds();
            wallStart = System.nanoTime();
        }

        static Cpu start(ServerProcess s) {
            return new Cpu(s);
        }

        void stop(ServerProcess s) {
            double wall = (System.nanoTime() - wallStart) / 1e9;
            long c = processCpuNanos();
            client = c < 0 || clientStart < 0 ? Double.NaN : (c - clientStart) / 1e9 / wall;
            server = (s.cpuSeconds() - serverStart) / wall;
        }

        private static long processCpuNanos() {
            return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                    ? os.getProcessCpuTime() : -1;
        }
    }

    /** One run of the DTLS handshake scenario: {@code s.peers()} handshakes in flight, a warm-up, then the measured window. */
    private static Measured handshakes(Contender c, Scenario s, int port, ServerProcess server, DtlsClient client, Duration warmup,
                                       Duration window, int round) throws Exception {
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", port);
        HandshakeLoad.run(new HandshakeLoad.Options(at, client, s.peers(), warmup, 0));
        Cpu cpu = Cpu.start(server);
        HandshakeLoad.Result r = HandshakeLoad.run(new HandshakeLoad.Options(at, client, s.peers(), window, 0));
        cpu.stop(server);
        System.err.printf(Locale.ROOT, "round %d  %-18s %-34s %,10.0f/s  p50 %,8.0f µs  p99 %,8.0f µs  failed %d  resent %d"
                        + "  cores: server %.2f, load generator %.2f%n", round, c.label(), s.label(), r.perSecond(), r.p50Micros(),
                r.p99Micros(), r.failed(), r.retransmissions(), cpu.server, cpu.client);
        return Measured.handshakes(r, cpu.client, cpu.server);
    }

    /**
     * One run of the DTLS memory scenario: the server's heap after GC (jcmd), {@code s.peers()} more
     * sessions established ({@link #SESSIONS_IN_FLIGHT} handshakes in flight, each confirmed by one echoed record), its heap
     * after GC again; the difference per session.
     */
    private static Measured sessions(Contender c, Scenario s, int port, ServerProcess server, DtlsClient client, int round)
            throws Exception {
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", port);
        long before = server.heapAfterGc();
        // each session confirmed by one echoed record: the server holds it established, nothing of its handshake
        HandshakeLoad.Result r = HandshakeLoad.run(new HandshakeLoad.Options(at, client, SESSIONS_IN_FLIGHT, Duration.ofMinutes(20), s.peers(), true));
        long after = server.heapAfterGc();
        double perSession = (after - before) / (double) r.completed();
        System.err.printf(Locale.ROOT, "round %d  %-18s %-34s %,10.0f bytes of heap each (%,d sessions in %.1f s, %d failed)%n",
                round, c.label(), s.label(), perSession, r.completed(), r.seconds(), r.failed());
        return Measured.sessions(r, perSession);
    }

    /** One bulk run of {@code c} on {@code s}: a warm-up, then the measured window with the server's syscalls counted. */
    private static Measured bulk(Contender c, Scenario s, int port, ServerProcess server, Duration warmup, Duration window,
                                 boolean countSyscalls, Path work, int round) throws Exception {
        BulkOptions o = BulkOptions.of(new InetSocketAddress("127.0.0.1", port), s.peers(), s.window(), s.replies(), s.gro(), window);
        LoadGenerator.runBulk(o.withDuration(warmup));
        SyscallCounter counter = countSyscalls ? attach(server.pid(), work) : null;
        BulkResult r;
        long syscalls = -1;
        try {
            r = LoadGenerator.runBulk(o, counter);
        } finally {
            if (counter != null) {
                syscalls = counter.finish();
            }
        }
        double perReply = Double.NaN;
        if (syscalls >= 0 && r.datagrams() > 0) {
            perReply = syscalls / (double) r.datagrams();
        } else if (counter != null && syscalls < 0) {
            System.err.println("compare: syscalls of " + c.label() + " not counted: " + counter.problem());
        }
        System.err.printf(Locale.ROOT, "round %d  %-22s %-30s %,10.1f MB/s  %,10.0f datagrams/s  %.1f per receive  lost %d  late %d  corrupt %d  syscalls/reply %s%n",
                round, c.label(), s.label(), r.megabytesPerSecond(), r.datagramsPerSecond(),
                r.receives() == 0 ? 0.0 : r.datagrams() / (double) r.receives(), r.lost(), r.late(), r.corrupt(),
                Double.isNaN(perReply) ? "n/a" : String.format(Locale.ROOT, "%.3f", perReply));
        return Measured.bulk(r, perReply);
    }

    /** {@code list} with every group name of {@link #SCENARIO_GROUPS} replaced by its scenarios. */
    private static String expandGroups(String list) {
        List<String> ids = new ArrayList<>();
        for (String id : list.split(",")) {
            ids.add(SCENARIO_GROUPS.getOrDefault(id.trim(), id.trim()));
        }
        return String.join(",", ids);
    }

    private static SyscallCounter attach(long pid, Path dir) {
        try {
            return SyscallCounter.attach(pid, dir);
        } catch (IOException e) {
            System.err.println("compare: could not start perf: " + e.getMessage());
            return null;
        }
    }

    /**
     * A C reference: {@code source} in this jar's resources, built into a binary named after it, and
     * {@code modeArgs}, what follows PORT THREADS on its command line (one source serves several kinds).
     */
    record CReference(String source, List<String> modeArgs) {
    }

    /**
     * Compiles the C references among {@code contenders} into {@code dir}, each source once; a
     * contender whose source does not compile goes to {@code failed}.
     */
    static Map<String, Path> compileReferences(List<Contender> contenders, Path dir, Map<Contender, String> failed)
            throws Exception {
        Map<String, Path> bins = new HashMap<>();
        Map<String, Path> built = new HashMap<>();
        Map<String, String> broken = new HashMap<>();
        for (Contender c : contenders) {
            if (!c.isNative() || bins.containsKey(c.kind()) || failed.containsKey(c)) {
                continue;
            }
            String source = C_REFERENCES.get(c.kind()).source();
            if (!built.containsKey(source) && !broken.containsKey(source)) {
                Path bin = dir.resolve(source.substring(0, source.length() - 2));
                String why = compile(source, bin);
                if (why == null) {
                    built.put(source, bin);
                } else {
                    broken.put(source, why);
                }
            }
            if (built.containsKey(source)) {
                bins.put(c.kind(), built.get(source));
            } else {
                failed.put(c, broken.get(source));
            }
        }
        return bins;
    }

    /** Builds {@code source} from this jar's resources into {@code bin} (the source copied beside it); null, or why not. */
    private static String compile(String source, Path bin) throws Exception {
        Path src = bin.resolveSibling(source);
        try (InputStream in = Compare.class.getResourceAsStream("/" + source)) {
            if (in == null) {
                throw new IllegalStateException(source + " is missing from the jar");
            }
            Files.copy(in, src, StandardCopyOption.REPLACE_EXISTING);
        }
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-O2", "-pthread", "-o", bin.toString(), src.toString()).inheritIO().start();
        } catch (IOException e) {
            return "gcc not found (install gcc): " + e.getMessage();
        }
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
            gcc.destroyForcibly();
            System.err.println("compare: gcc could not build " + src + " (see above)");
            return "gcc could not build " + source;
        }
        return null;
    }

    /** The entries of {@code all} whose id is in the comma-separated {@code list}, in {@code all}'s order. */
    private static <T> List<T> pick(String list, List<T> all, Function<T, String> id, String option) {
        List<String> wanted = Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        List<String> known = all.stream().map(id).toList();
        for (String w : wanted) {
            if (!known.contains(w)) {
                throw new IllegalArgumentException(option + ": unknown '" + w + "'; one of " + String.join(", ", known));
            }
        }
        if (wanted.isEmpty()) {
            throw new IllegalArgumentException(option + " needs at least one of " + String.join(", ", known));
        }
        return all.stream().filter(t -> wanted.contains(id.apply(t))).toList();
    }

    private static int freePort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            return s.getLocalPort();
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static Duration parseDuration(String s) {
        try {
            return s.endsWith("ms") ? Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)))
                    : Duration.ofMillis(Math.round(Double.parseDouble(s.replace("s", "")) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--measure and --warmup take a number of seconds or one ending in ms, was '" + s + "'");
        }
    }

    static String usage() {
        return """
                usage: Compare [options]
                  --quick            1 round of 2 s (default 3 rounds of 3 s)
                  --rounds N         rounds (each server runs every scenario once a round)
                  --measure D        measured window per run, e.g. 3s, 2500ms
                  --out DIR          output directory (default: abyss-bench/target/compare; bench-results to update the tracked files)
                  --only IDS         servers, comma-separated: %s
                  --scenarios IDS    loads, comma-separated: %s
                                     (default: the echo ones and bulk-16,bulk-64; groups: echo, bulk, bulk-nogro, bulk-all)
                  --rate PPS         offered rate of the latency scenario (default: half the C reference's 64 B, 16-peer peak)
                  --no-syscalls      do not count the servers' syscalls with perf
                  --bulk-peers P     peers of the bulk scenarios (default %d)
                  --bulk-window W    requests in flight per peer in the bulk scenarios (default %d)
                  --dtls-sessions N  sessions established in the dtls-sessions scenario (default %,d)
                  --warmup D         load before a fresh server's first measured window (default 2s; the JDK's DTLS
                                     path needs longer to compile on a busy machine: 10s gives its steady state)
                  --cli-before JAR   adds abyss-dtls-before: the DTLS server of another build's abyss-cli.jar (an A/B in one run)
                DTLS (--scenarios dtls; servers scandium, scandium-nocookie, abyss-dtls, abyss-dtls-uring, abyss-dtls-x2, abyss-plain):
                  dtls-64B-16, dtls-1200B-16   echo over DTLS 1.2 (plaintext for abyss-plain), a JDK SSLEngine client per peer
                  dtls-handshakes              full handshakes per second, 16 in flight, each from a new 127.x.y.z source
                  dtls-sessions                server heap per established session (jcmd GC.heap_info before / after)
                  the table goes to dtls.md; ratios are to scandium (to scandium-nocookie for a -nocookie server)
                  --veth ...         (first) the veth scenario between two namespaces: bin/bench compare --veth --help""".formatted(
                String.join(",", CONTENDERS.stream().map(Contender::id).toList()),
                String.join(",", SCENARIOS.stream().map(Scenario::id).toList()), Scenario.BULK_PEERS, Scenario.BULK_WINDOW,
                Scenario.DTLS_SESSIONS_DEFAULT);
    }
}
