package dev.abyss.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The comparison's veth scenario: the path an AF_XDP transport takes, between two network
 * namespaces joined by a veth pair ({@code bin/veth-pair}), servers in the server namespace pinned
 * to one core, the load generator in the client namespace on the other cores; the contenders
 * interleaved round by round. Root only.
 *
 * <pre>
 * bin/bench compare --veth [--rounds 3] [--measure 3s] [--warmup 2s] [--only c-ref,abyss-epoll,abyss-uring,abyss-xdp]
 *                          [--size 64] [--peers 16] [--window 32] [--server-cpu N] [--client-cpus LIST] [--out DIR]
 * </pre>
 *
 * What is measured, per run, over the window between two of the load generator's progress lines
 * (after the warm-up): replies per second, and CPU per reply: the server's (user + system time of
 * the server process and of the server end's NAPI thread, {@code /proc/PID/stat}: the receive
 * path's GRO / XDP / IP / UDP work runs in that thread) and the server core's (user + system + irq
 * + softirq, {@code /proc/stat}: whoever ran there, so on a shared machine other work too). Receive work is steered to the receiving side's core so that each core
 * pays its own side's kernel work: both veth ends get GRO on (which gives a veth NAPI) and threaded
 * NAPI, and each end's NAPI thread is pinned to its side's cores (the server's to the server core).
 * Without that, veth runs a receiver's IP/UDP (and XDP) work in the sender's softirq, on the other
 * core. TX checksum offload is off on both ends, so every frame carries a complete UDP checksum.
 *
 * <p>Contenders: {@code c-ref} (the C recvmmsg/sendmmsg reference of the loopback comparison, bound
 * to 198.18.0.1 by ECHO_BIND), {@code abyss-epoll}, {@code abyss-uring} (the CLI's echo handler,
 * one acceptor, {@code --transport epoll / io_uring}) and {@code abyss-xdp} (the CLI with
 * {@code --transport xdp --xdp-interface veth-s}): a contender that does not start is reported in its
 * row and not tried again.
 *
 * <p>{@code --load kxdpgun}: Knot's AF_XDP load generator (Debian package knot-dnsutils) instead,
 * far cheaper per datagram than a socket client, sending DNS queries at {@code --qps}; the echo
 * servers answer each with the query itself, which kxdpgun counts as a NOERROR reply.
 */
final class VethCompare {
    static final List<String> CONTENDERS = List.of("c-ref", "abyss-epoll", "abyss-uring", "abyss-xdp");
    private static final String SERVER = "198.18.0.1";
    private static final Pattern PROGRESS = Pattern.compile("^\\[\\s*([0-9.]+)s\\].*echoed ([0-9,]+)");
    private static final Pattern LOST = Pattern.compile("sent\\s+([0-9,]+)\\s+lost\\s+([0-9,]+)");

    private VethCompare() {
    }

    /** A measured run: replies per second, server-core and server-process CPU ns per reply, lost. */
    record Run(double repliesPerSecond, double serverNsPerReply, double processNsPerReply, double coreNsPerReply, long lost) {
    }

    static void main(String[] args) throws Exception {
        int rounds = 3;
        Duration measure = Duration.ofSeconds(3);
        Duration warmup = Duration.ofSeconds(2);
        List<String> only = CONTENDERS;
        int size = 64;
        int peers = 16;
        int window = 8; // 16 x 8 in flight stays under a veth ring's 256 frames
        int cpus = Runtime.getRuntime().availableProcessors();
        int serverCpu = cpus - 1;
        String clientCpus = null;
        Path out = null;
        String load = "java";
        long qps = 1_000_000;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--veth" -> { }
                    case "--rounds" -> rounds = Integer.parseInt(value(args, ++i, a));
                    case "--measure" -> measure = seconds(value(args, ++i, a), a);
                    case "--warmup" -> warmup = seconds(value(args, ++i, a), a);
                    case "--only" -> only = pick(value(args, ++i, a));
                    case "--size" -> size = Integer.parseInt(value(args, ++i, a));
                    case "--peers" -> peers = Integer.parseInt(value(args, ++i, a));
                    case "--window" -> window = Integer.parseInt(value(args, ++i, a));
                    case "--server-cpu" -> serverCpu = Integer.parseInt(value(args, ++i, a));
                    case "--client-cpus" -> clientCpus = value(args, ++i, a);
                    case "--out" -> out = Path.of(value(args, ++i, a));
                    case "--load" -> load = value(args, ++i, a);
                    case "--qps" -> qps = Long.parseLong(value(args, ++i, a));
                    case "-h", "--help" -> {
                        System.out.println(usage());
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (rounds < 1 || size < 16 || size > 1472 || peers < 1 || window < 1) {
                throw new IllegalArgumentException("--rounds >= 1, --size 16..1472, --peers and --window >= 1");
            }
            if (!load.equals("java") && !load.equals("kxdpgun") || qps < 1) {
                throw new IllegalArgumentException("--load is java or kxdpgun, --qps >= 1");
            }
            if (cpus < 2 || serverCpu < 0 || serverCpu >= cpus) {
                throw new IllegalArgumentException("needs 2 CPUs or more and --server-cpu in 0.." + (cpus - 1) + " (" + cpus + " here)");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("compare --veth: " + e.getMessage() + "\n" + usage());
            System.exit(2);
        }
        if (clientCpus == null) {
            List<String> rest = new ArrayList<>();
            for (int c = 0; c < cpus; c++) {
                if (c != serverCpu) {
                    rest.add(Integer.toString(c));
                }
            }
            clientCpus = String.join(",", rest);
        }
        Path jar = Path.of(VethCompare.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path root = jar.getParent().getParent().getParent(); // abyss-bench/target/benchmarks.jar
        Path script = root.resolve("bin/veth-pair");
        Path work = jar.getParent().resolve("compare");
        Files.createDirectories(work);
        if (out == null) {
            out = work;
        }
        Files.createDirectories(out);
        String why = unavailable(script, load);
        if (why != null) {
            System.err.println("compare --veth: cannot run here: " + why);
            System.exit(3);
        }
        Map<Contender, String> failedRefs = new LinkedHashMap<>();
        Map<String, Path> natives = only.contains("c-ref")
                ? Compare.compileReferences(List.of(Contender.of("c-ref", 1)), work, failedRefs) : Map.of();
        String name = "abcmp" + ProcessHandle.current().pid();
        Map<String, List<Run>> runs = new LinkedHashMap<>();
        Map<String, String> failed = new LinkedHashMap<>();
        failedRefs.forEach((c, reason) -> failed.put(c.id(), reason));
        only.forEach(c -> runs.put(c, new ArrayList<>()));
        Thread cleanup = new Thread(() -> sh(List.of(script.toString(), "down", name), 20));
        Runtime.getRuntime().addShutdownHook(cleanup);
        long t0 = System.nanoTime();
        try {
            Result up = sh(List.of(script.toString(), "up", name, "--tx-checksum", "off"), 30);
            if (up.code != 0) {
                throw new IOException("bin/veth-pair up failed: " + up.output);
            }
            Set<Long> serverNapi = steer(name, serverCpu, clientCpus);
            int port = 7000;
            for (int round = 1; round <= rounds; round++) {
                for (String c : only) {
                    if (failed.containsKey(c)) {
                        continue;
                    }
                    port++;
                    Process server;
                    try {
                        server = startServer(c, name, port, serverCpu, root, natives);
                    } catch (IOException e) {
                        System.err.println("compare --veth: " + c + ": " + e.getMessage() + " (not tried again)");
                        failed.put(c, e.getMessage());
                        continue;
                    }
                    try {
                        Run r = load.equals("kxdpgun")
                                ? kxdpgun(name, port, clientCpus, work, qps, warmup, measure, serverCpu, server.pid(), serverNapi)
                                : measure(name, port, clientCpus, jar, size, peers, window, warmup, measure, serverCpu, server.pid(),
                                serverNapi);
                        runs.get(c).add(r);
                        System.err.printf(Locale.ROOT, "round %d  %-12s %,10.0f replies/s   server %,7.0f ns/reply (process %,7.0f)"
                                        + "   server core %,7.0f ns/reply   lost %d%n", round, c, r.repliesPerSecond, r.serverNsPerReply,
                                r.processNsPerReply, r.coreNsPerReply, r.lost);
                    } catch (IOException e) {
                        System.err.println("compare --veth: " + c + " round " + round + ": " + e.getMessage());
                    } finally {
                        stop(server);
                    }
                }
            }
        } finally {
            sh(List.of(script.toString(), "down", name), 20);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        double minutes = (System.nanoTime() - t0) / 60e9;
        String command = "bin/bench compare " + String.join(" ", args);
        String shape = load.equals("kxdpgun")
                ? String.format(Locale.ROOT, "kxdpgun (AF_XDP) offering %,d DNS queries/s (%d-byte payloads)", qps, KXDPGUN_QUERY_BYTES)
                : String.format(Locale.ROOT, "the load generator, %d B, %d peers x %d in flight", size, peers, window);
        String table = markdown(runs, failed, rounds, measure, shape, serverCpu, clientCpus, command, minutes);
        Files.writeString(out.resolve("veth.md"), table);
        System.out.println(table);
        System.out.println("written: " + out.resolve("veth.md"));
    }

    /** Why the scenario cannot run here, or null. */
    private static String unavailable(Path script, String load) {
        if (!Files.isExecutable(script)) {
            return script + " not found (run from a checkout)";
        }
        if (load.equals("kxdpgun") && sh(List.of("sh", "-c", "command -v kxdpgun"), 10).code != 0) {
            return "kxdpgun is not installed (apt-get install knot-dnsutils)";
        }
        for (String tool : List.of("ip", "ethtool", "taskset")) {
            if (sh(List.of("sh", "-c", "command -v " + tool), 10).code != 0) {
                return tool + " is not installed (iproute2, ethtool, util-linux)";
            }
        }
        Result id = sh(List.of("id", "-u"), 10);
        if (!id.output.strip().equals("0")) {
            return "named network namespaces need root";
        }
        return null;
    }

    /**
     * GRO on and threaded NAPI on both ends; each end's new NAPI threads pinned to its side's
     * cores (found as the napi/veth-* threads that appear when threading is switched on).
     */
    private static Set<Long> steer(String name, int serverCpu, String clientCpus) throws IOException {
        Set<Long> server = null;
        for (String[] side : new String[][]{{name + "-s", "veth-s", Integer.toString(serverCpu)}, {name + "-c", "veth-c", clientCpus}}) {
            Set<Long> before = napiThreads(side[1]);
            Result r = sh(List.of("ip", "netns", "exec", side[0], "sh", "-c",
                    "ethtool -K " + side[1] + " gro on >/dev/null && echo 1 > /sys/class/net/" + side[1] + "/threaded"), 10);
            if (r.code != 0) {
                throw new IOException("cannot turn on GRO and threaded NAPI on " + side[1] + ": " + r.output);
            }
            Set<Long> threads = napiThreads(side[1]);
            threads.removeAll(before);
            if (threads.isEmpty()) {
                throw new IOException("no NAPI thread appeared for " + side[1]);
            }
            for (long pid : threads) {
                Result pin = sh(List.of("taskset", "-pc", side[2], Long.toString(pid)), 10);
                if (pin.code != 0) {
                    throw new IOException("cannot pin NAPI thread " + pid + ": " + pin.output);
                }
            }
            System.err.println("compare --veth: " + side[1] + " NAPI threads " + threads + " on CPU " + side[2]);
            if (server == null) {
                server = threads;
            }
        }
        return server;
    }

    private static Set<Long> napiThreads(String device) throws IOException {
        Set<Long> pids = new HashSet<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) dirs::iterator) {
                String n = p.getFileName().toString();
                if (!n.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (Files.readString(p.resolve("comm")).strip().startsWith("napi/" + device + "-")) {
                        pids.add(Long.parseLong(n));
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        }
        return pids;
    }

    private static Process startServer(String c, String ns, int port, int cpu, Path root, Map<String, Path> natives) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns + "-s", "taskset", "-c", Integer.toString(cpu)));
        ProcessBuilder pb = new ProcessBuilder();
        String ready;
        if (c.equals("c-ref")) {
            Path bin = natives.get("c-ref");
            if (bin == null) {
                throw new IOException("the C reference did not build");
            }
            cmd.addAll(List.of(bin.toString(), Integer.toString(port), "1"));
            pb.environment().put("ECHO_BIND", SERVER);
            ready = "ready";
        } else {
            String transport = switch (c) {
                case "abyss-epoll" -> "epoll";
                case "abyss-uring" -> "io_uring";
                default -> "xdp";
            };
            // the echo handler starts with the open-internet limits; one client prefix would hit them at once
            cmd.addAll(List.of(root.resolve("bin/abyss").toString(), "--handler", "echo", "--transport", transport, "--bind", SERVER,
                    "--port", Integer.toString(port), "--rate-limit", "0", "--amplification-limit", "0"));
            // one acceptor: XDP runs one per RX queue served (the pair has one)
            cmd.addAll(transport.equals("xdp") ? List.of("--xdp-interface", "veth-s", "--xdp-queues", "1") : List.of("--acceptors", "1"));
            pb.environment().put("JAVA_OPTS", "-Xms256m -Xmx1g");
            ready = "listening on";
        }
        Process p = pb.command(cmd).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        CompletableFuture<Boolean> started = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line; (line = r.readLine()) != null; ) {
                    seen.add(line);
                    if (line.contains(ready)) {
                        return true;
                    }
                }
            } catch (IOException e) {
                seen.add(e.toString());
            }
            return false;
        });
        boolean ok;
        try {
            ok = started.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            ok = false;
        }
        if (!ok) {
            stop(p);
            throw new IOException("did not start: " + String.join(" | ", seen.stream().limit(6).toList()));
        }
        System.err.println("  [" + c + "] " + seen.getLast());
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                for (String line; (line = r.readLine()) != null; ) {
                    System.err.println("  [" + c + "] " + line);
                }
            } catch (IOException closed) {
                // the server was stopped
            }
        });
        return p;
    }

    private static void stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs the load generator in the client namespace for warm-up + window and measures between the
     * first progress line past the warm-up and the last one.
     */
    private static Run measure(String ns, int port, String clientCpus, Path jar, int size, int peers, int window, Duration warmup,
                               Duration measure, int serverCpu, long serverPid, Set<Long> serverNapi) throws Exception {
        long total = warmup.plus(measure).toMillis();
        List<String> cmd = List.of("ip", "netns", "exec", ns + "-c", "taskset", "-c", clientCpus,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", jar.toString(), "dev.abyss.bench.load.LoadGenerator", "--target", SERVER + ":" + port,
                "--peers", Integer.toString(peers), "--window", Integer.toString(window), "--size", Integer.toString(size),
                "--duration", total + "ms");
        Process p = new ProcessBuilder(cmd).start();
        CompletableFuture<String> stdout = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        });
        double warmupSeconds = warmup.toMillis() / 1000.0;
        long[] coreA = null;
        long napiA = 0;
        long processA = 0;
        long echoedA = 0;
        long timeA = 0;
        long[] coreB = null;
        long napiB = 0;
        long processB = 0;
        long echoedB = 0;
        long timeB = 0;
        List<String> err = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                long now = System.nanoTime();
                Matcher m = PROGRESS.matcher(line);
                if (!m.find()) {
                    err.add(line);
                    continue;
                }
                double at = Double.parseDouble(m.group(1));
                long echoed = Long.parseLong(m.group(2).replace(",", ""));
                if (at + 0.05 < warmupSeconds) {
                    continue;
                }
                long[] core = cpuTicks(serverCpu);
                long process = processTicks(serverPid);
                long napi = serverNapi.stream().mapToLong(VethCompare::processTicks).sum();
                if (coreA == null) {
                    coreA = core;
                    napiA = napi;
                    processA = process;
                    echoedA = echoed;
                    timeA = now;
                } else {
                    coreB = core;
                    napiB = napi;
                    processB = process;
                    echoedB = echoed;
                    timeB = now;
                }
            }
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        String result = stdout.get(10, TimeUnit.SECONDS);
        if (coreA == null || coreB == null || echoedB <= echoedA) {
            throw new IOException("the load generator measured nothing (exit " + p.exitValue() + "): " + String.join(" | ", err) + " " + result);
        }
        long replies = echoedB - echoedA;
        double tick = 1e9 / 100; // USER_HZ: /proc/stat counts in 1/100 s
        Matcher lost = LOST.matcher(result);
        long lostCount = lost.find() ? Long.parseLong(lost.group(2).replace(",", "")) : -1;
        return new Run(replies / ((timeB - timeA) / 1e9), (processB - processA + napiB - napiA) * tick / replies,
                (processB - processA) * tick / replies, busy(coreA, coreB) * tick / replies, lostCount);
    }

    /** The bytes of each query kxdpgun sends: a DNS header and one question for "example.com A". */
    static final int KXDPGUN_QUERY_BYTES = 29;
    private static final Pattern KXDPGUN_REPLIES = Pattern.compile("total replies:\\s+(\\d+)");
    private static final Pattern KXDPGUN_QUERIES = Pattern.compile("total queries:\\s+(\\d+)");

    /**
     * Knot's AF_XDP DNS load generator in the client namespace, on the client's first core: a warm-up
     * run, then a measured one with the server's CPU read before and after it (the window includes
     * kxdpgun's own start, a few milliseconds). It counts the replies it can parse as DNS messages; an
     * echo server's reply is the query itself, a well-formed DNS message (NOERROR), so the echo
     * servers serve as DNS responders here. Lost: queries sent minus replies (it offers more than a
     * server takes).
     */
    private static Run kxdpgun(String ns, int port, String clientCpus, Path work, long qps, Duration warmup, Duration measure,
                               int serverCpu, long serverPid, Set<Long> serverNapi) throws Exception {
        Path queries = work.resolve("kxdpgun-queries.txt");
        Files.writeString(queries, "example.com A\n");
        String cpu = clientCpus.split("[,-]")[0];
        long measureSeconds = Math.max(1, Math.round(measure.toMillis() / 1000.0));
        List<String> base = List.of("ip", "netns", "exec", ns + "-c", "kxdpgun", "-Q", Long.toString(qps), "-F", cpu, "-p",
                Integer.toString(port), "-i", queries.toString());
        List<String> warm = new ArrayList<>(base);
        warm.addAll(List.of("-t", Long.toString(Math.max(1, Math.round(warmup.toMillis() / 1000.0))), "198.18.0.1"));
        Result w = sh(warm, 60);
        // the previous run's AF_XDP socket can still hold the queue for a moment ("requested resource is busy")
        for (int retry = 0; retry < 5 && w.output.contains("busy"); retry++) {
            Thread.sleep(1000);
            w = sh(warm, 60);
        }
        if (w.code != 0 || w.output.contains("error:")) {
            throw new IOException("kxdpgun failed (exit " + w.code + "): " + w.output.strip());
        }
        List<String> run = new ArrayList<>(base);
        run.addAll(List.of("-t", Long.toString(measureSeconds), "198.18.0.1"));
        long[] coreA = cpuTicks(serverCpu);
        long processA = processTicks(serverPid);
        long napiA = serverNapi.stream().mapToLong(VethCompare::processTicks).sum();
        long t0 = System.nanoTime();
        Result r = sh(run, 60 + measureSeconds);
        long t1 = System.nanoTime();
        long[] coreB = cpuTicks(serverCpu);
        long processB = processTicks(serverPid);
        long napiB = serverNapi.stream().mapToLong(VethCompare::processTicks).sum();
        Matcher replies = KXDPGUN_REPLIES.matcher(r.output);
        Matcher sent = KXDPGUN_QUERIES.matcher(r.output);
        if (r.code != 0 || !replies.find() || !sent.find()) {
            throw new IOException("kxdpgun measured nothing (exit " + r.code + "): " + r.output.strip());
        }
        long n = Long.parseLong(replies.group(1));
        if (n == 0) {
            throw new IOException("no replies: " + r.output.strip());
        }
        double tick = 1e9 / 100;
        // kxdpgun's own duration, not the process's (its start and the XDP attach are not traffic)
        double seconds = Math.min(measureSeconds, (t1 - t0) / 1e9);
        return new Run(n / seconds, (processB - processA + napiB - napiA) * tick / n, (processB - processA) * tick / n,
                busy(coreA, coreB) * tick / n, Long.parseLong(sent.group(1)) - n);
    }

    /** The cpuN line of /proc/stat (cpu for -1): user nice system idle iowait irq softirq steal ... */
    private static long[] cpuTicks(int cpu) throws IOException {
        String prefix = cpu < 0 ? "cpu " : "cpu" + cpu + " ";
        for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
            if (line.startsWith(prefix)) {
                return Arrays.stream(line.substring(prefix.length()).trim().split("\\s+")).mapToLong(Long::parseLong).toArray();
            }
        }
        throw new IOException("no " + prefix.trim() + " in /proc/stat");
    }

    /** user + nice + system + irq + softirq. */
    private static long busy(long[] a, long[] b) {
        long s = 0;
        for (int i : new int[]{0, 1, 2, 5, 6}) {
            s += b[i] - a[i];
        }
        return s;
    }

    /** utime + stime of a process and its threads (/proc/PID/stat fields 14 and 15), 0 when gone. */
    private static long processTicks(long pid) {
        // ip netns exec and taskset exec: the pid is the server's own
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static String markdown(Map<String, List<Run>> runs, Map<String, String> failed, int rounds, Duration measure, String shape,
                           int serverCpu, String clientCpus, String command, double minutes) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Veth pair between two namespaces: %s; server on CPU %d, load on %s; "
                + "medians of %d round(s) of %.1f s.%n%n", shape, serverCpu, clientCpus, rounds, measure.toMillis() / 1000.0));
        double base = median(runs.getOrDefault("abyss-epoll", List.of()), Run::repliesPerSecond);
        double baseCpu = median(runs.getOrDefault("abyss-epoll", List.of()), Run::serverNsPerReply);
        b.append("| server | replies/s | vs abyss-epoll | server CPU ns/reply | vs abyss-epoll | of which the process | server core ns/reply | lost |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (var e : runs.entrySet()) {
            if (failed.containsKey(e.getKey()) && e.getValue().isEmpty()) {
                b.append("| ").append(e.getKey()).append(" | did not run: ").append(failed.get(e.getKey()).replace("|", "/"))
                        .append(" | | | | | | |\n");
                continue;
            }
            List<Run> l = e.getValue();
            double rps = median(l, Run::repliesPerSecond);
            double cpu = median(l, Run::serverNsPerReply);
            b.append(String.format(Locale.ROOT, "| %s | %,.0f | %.2f | %,.0f | %.2f | %,.0f | %,.0f | %d |%n", e.getKey(), rps, rps / base, cpu,
                    cpu / baseCpu, median(l, Run::processNsPerReply), median(l, Run::coreNsPerReply),
                    l.stream().mapToLong(Run::lost).sum()));
        }
        b.append(String.format(Locale.ROOT, "%n`%s` (%.1f min). Server CPU: user + system time of the server process and of the "
                + "server end's NAPI thread (its receive path: GRO, XDP, IP, UDP), from /proc/PID/stat. Server core: user + system + irq "
                + "+ softirq of the server's core from /proc/stat, whoever ran there (on a shared machine, other work too). Lost: "
                + "datagrams the load generator never got back, over all rounds (kxdpgun: queries sent minus replies, as it offers "
                + "more than a server takes).%n", command, minutes));
        return b.toString();
    }

    private static double median(List<Run> runs, java.util.function.ToDoubleFunction<Run> f) {
        double[] v = runs.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static List<String> pick(String list) {
        List<String> wanted = Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        for (String w : wanted) {
            if (!CONTENDERS.contains(w)) {
                throw new IllegalArgumentException("--only: unknown '" + w + "'; one of " + String.join(", ", CONTENDERS));
            }
        }
        if (wanted.isEmpty()) {
            throw new IllegalArgumentException("--only needs at least one of " + String.join(", ", CONTENDERS));
        }
        return CONTENDERS.stream().filter(wanted::contains).toList();
    }

    private static Duration seconds(String s, String option) {
        try {
            return s.endsWith("ms") ? Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)))
                    : Duration.ofMillis(Math.round(Double.parseDouble(s.replace("s", "")) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a number of seconds or end in ms, was '" + s + "'");
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    record Result(int code, String output) {
    }

    private static Result sh(List<String> cmd, long timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return e.toString();
                }
            });
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + cmd);
            }
            return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS));
        } catch (Exception e) {
            return new Result(127, e.toString());
        }
    }

    static String usage() {
        return """
                usage: bin/bench compare --veth [options]   (root: two network namespaces and a veth pair, removed at the end)
                  --rounds N         rounds, the contenders interleaved in each (default 3)
                  --measure D        measured window per run (default 3s); --warmup D before it (default 2s)
                  --only IDS         contenders, comma-separated: %s
                  --size B           payload bytes (default 64); --peers P (default 16); --window W in flight per peer (default 8)
                  --server-cpu N     the core the servers and the server end's NAPI thread run on (default: the last)
                  --client-cpus L    the cores of the load generator and the client end's NAPI thread (default: the others)
                  --load java|kxdpgun  the load: the load generator (default), or Knot's AF_XDP kxdpgun (package knot-dnsutils)
                                     sending DNS queries, which the echo servers answer with the query itself
                  --qps N            kxdpgun's offered queries per second (default 1,000,000)
                  --out DIR          where veth.md goes (default: abyss-bench/target/compare)""".formatted(String.join(",", CONTENDERS));
    }
}
