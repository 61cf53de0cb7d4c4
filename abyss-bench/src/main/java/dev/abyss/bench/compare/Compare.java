package dev.abyss.bench.compare;

import dev.abyss.bench.load.LoadGenerator;
import dev.abyss.bench.load.LoadOptions;
import dev.abyss.bench.load.LoadResult;

import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The side-by-side run: every echo server in turn against the same load generator settings,
 * interleaved (A B C A B C ...) over several rounds; medians, ratios to the C reference and to
 * Netty epoll, a Markdown table and a PNG chart.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp abyss-bench/target/benchmarks.jar \
 *      dev.abyss.bench.compare.Compare [--quick] [--rounds N] [--measure 3s] [--out bench-results]
 * </pre>
 */
public final class Compare {
    static final List<Contender> CONTENDERS = List.of(
            new Contender("c-ref", 1),
            new Contender("netty-epoll", 1),
            new Contender("netty-iouring", 1),
            new Contender("netty-nio", 1),
            new Contender("jdk", 1),
            new Contender("abyss-segment", 1),
            new Contender("abyss-handler", 1),
            new Contender("abyss-segment", 2));
    static final List<Scenario> SCENARIOS = List.of(Scenario.SMALL_1, Scenario.SMALL_16, Scenario.SMALL_1024,
            Scenario.LARGE_16, Scenario.LATENCY);

    private Compare() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        int rounds = 3;
        Duration measure = Duration.ofSeconds(3);
        Path out = Path.of("bench-results");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--measure" -> measure = parseDuration(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: Compare [--quick] [--rounds N] [--measure 3s] [--out DIR]");
                    System.exit(2);
                }
            }
        }
        if (quick) {
            rounds = 1;
            measure = Duration.ofMillis(2000);
        }
        Duration firstWarmup = quick ? Duration.ofMillis(1500) : Duration.ofSeconds(2);
        Duration warmup = quick ? Duration.ofMillis(300) : Duration.ofMillis(700);
        Files.createDirectories(out);
        Path cRef = compileReference(out);
        Path jar = Path.of(Compare.class.getProtectionDomain().getCodeSource().getLocation().toURI());

        Map<Contender, Map<Scenario, List<LoadResult>>> results = new LinkedHashMap<>();
        CONTENDERS.forEach(c -> results.put(c, new LinkedHashMap<>()));
        long t0 = System.nanoTime();
        for (int round = 1; round <= rounds; round++) {
            for (Contender c : CONTENDERS) {
                int port = freePort();
                try (ServerProcess server = ServerProcess.start(c, port, jar, cRef)) {
                    boolean first = true;
                    for (Scenario s : SCENARIOS) {
                        LoadOptions o = LoadOptions.of(new InetSocketAddress("127.0.0.1", port), s.peers(), s.window(), s.size(), measure);
                        if (s.atHalfPeak()) {
                            double peak = Results.median(results.get(CONTENDERS.getFirst()).get(Scenario.SMALL_16), LoadResult::echoesPerSecond);
                            o = o.withRate(Math.max(1000, Math.round(peak / 2)));
                        }
                        LoadGenerator.run(new LoadOptions(o.target(), o.peers(), o.window(), o.size(), first ? firstWarmup : warmup,
                                0, o.rate(), o.spreadSources(), 1, false));
                        first = false;
                        LoadResult r = LoadGenerator.run(o);
                        results.get(c).computeIfAbsent(s, k -> new ArrayList<>()).add(r);
                        System.err.printf(Locale.ROOT, "round %d  %-18s %-34s %,10.0f/s  p99 %8.1f µs  lost %d  corrupt %d%n",
                                round, c.label(), s.label(), r.echoesPerSecond(), r.p99Micros(), r.lost(), r.corrupt());
                    }
                }
            }
        }
        double minutes = (System.nanoTime() - t0) / 60e9;
        String machine = Results.machine();
        String command = "java --enable-native-access=ALL-UNNAMED -cp abyss-bench/target/benchmarks.jar dev.abyss.bench.compare.Compare"
                + (quick ? " --quick" : "");
        String table = Results.markdown(results, rounds, measure, machine, command, minutes);
        Files.writeString(out.resolve("comparison.md"), table);
        Results.chart(results, out.resolve("comparison.png"));
        System.out.println(table);
        System.out.println("written: " + out.resolve("comparison.md") + ", " + out.resolve("comparison.png"));
    }

    private static Path compileReference(Path dir) throws Exception {
        Path src = dir.resolve("echo_ref.c");
        try (InputStream in = Compare.class.getResourceAsStream("/echo_ref.c")) {
            Files.copy(in, src, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Path bin = dir.resolve("echo_ref");
        Process gcc = new ProcessBuilder("gcc", "-O2", "-pthread", "-o", bin.toString(), src.toString()).inheritIO().start();
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
            throw new IllegalStateException("gcc could not build the C reference (install gcc): " + src);
        }
        return bin;
    }

    private static int freePort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            return s.getLocalPort();
        }
    }

    private static Duration parseDuration(String s) {
        return s.endsWith("ms") ? Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)))
                : Duration.ofMillis(Math.round(Double.parseDouble(s.replace("s", "")) * 1000));
    }
}
