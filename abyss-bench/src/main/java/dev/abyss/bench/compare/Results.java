package dev.abyss.bench.compare;

import dev.abyss.bench.load.LoadResult;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** Medians, ratios, the Markdown table and the chart of a comparison run. */
final class Results {
    private Results() {
    }

    /** Everything measured: per server (in run order), per scenario, one entry per round; and why a server did not run. */
    record Run(List<Contender> contenders, List<Scenario> scenarios, Map<Contender, Map<Scenario, List<Measured>>> measured,
               Map<Contender, String> failed) {
        List<Measured> of(Contender c, Scenario s) {
            Map<Scenario, List<Measured>> m = measured.get(c);
            return m == null ? null : m.get(s);
        }

        Contender named(String id) {
            return contenders.stream().filter(c -> c.id().equals(id)).findFirst().orElse(null);
        }

        List<Scenario> throughput() {
            return scenarios.stream().filter(s -> !s.atHalfPeak() && !s.bulk()).toList();
        }

        /** The bulk servers and scenarios of this run ({@code bulk}), or the echo ones: the same measurements. */
        Run part(boolean bulk) {
            return new Run(contenders.stream().filter(c -> c.bulk() == bulk && !c.dtls()).toList(),
                    scenarios.stream().filter(s -> s.bulk() == bulk && !s.dtls()).toList(), measured, failed);
        }

        /** The DTLS comparison's servers and scenarios of this run. */
        Run dtlsPart() {
            return new Run(contenders.stream().filter(Contender::dtls).toList(), scenarios.stream().filter(Scenario::dtls).toList(),
                    measured, failed);
        }
    }

    static double median(List<Measured> rs, ToDoubleFunction<Measured> f) {
        if (rs == null || rs.isEmpty()) {
            return Double.NaN;
        }
        double[] v = rs.stream().mapToDouble(f).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static double echoes(Measured m) {
        return m.load().echoesPerSecond();
    }

    static String markdown(Run run, int rounds, Duration measure, String latencyRate, String syscallNote, String machine,
                           String command, double minutes) {
        Contender cRef = run.named("c-ref");
        Contender netty = run.named("netty-epoll");
        List<Scenario> throughput = run.throughput();
        boolean latency = run.scenarios().contains(Scenario.LATENCY);
        // the syscall column: the main saturated scenario, and the paced one when it ran
        Scenario sysMain = throughput.contains(Scenario.SMALL_16) ? Scenario.SMALL_16 : throughput.isEmpty() ? null : throughput.getFirst();

        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Echoed datagrams per second (median of %d round%s of %.1f s each), and the ratio to the C "
                + "reference / to Netty epoll.", rounds, rounds == 1 ? "" : "s", measure.toMillis() / 1000.0));
        if (latency) {
            b.append(" Latency: p50 / p99 round trip in µs at a fixed offered rate of ").append(latencyRate).append('.');
        }
        b.append(" Syscalls / echo: the server process's system calls (every thread, perf `raw_syscalls:sys_enter`) over the "
                + "measured window, divided by the datagrams echoed in it").append(syscallNote).append(". Lost / corrupt: totals over "
                + "every run of the server.\n\n");

        b.append("| server |");
        throughput.forEach(s -> b.append(' ').append(s.label()).append(" |"));
        if (latency) {
            b.append(" latency at 50% (p50 / p99 µs) |");
        }
        b.append(" syscalls / echo (");
        if (sysMain != null) {
            b.append(sysMain.label()).append(latency ? " / at 50%" : "");
        } else {
            b.append("at 50%");
        }
        b.append(") | lost / corrupt |\n|---|");
        throughput.forEach(s -> b.append("---:|"));
        b.append(latency ? "---:|" : "").append("---:|---:|\n");

        for (Contender c : run.contenders()) {
            b.append("| ").append(c.label()).append(" |");
            String failure = run.failed().get(c);
            if (failure != null && run.measured().get(c).isEmpty()) {
                int cells = throughput.size() + (latency ? 1 : 0) + 2;
                b.append(" did not start: ").append(failure.replace("|", "\\|")).append(" |");
                b.append(" |".repeat(cells - 1)).append('\n');
                continue;
            }
            for (Scenario s : throughput) {
                double v = median(run.of(c, s), Results::echoes);
                double vc = cRef == null ? Double.NaN : median(run.of(cRef, s), Results::echoes);
                double vn = netty == null ? Double.NaN : median(run.of(netty, s), Results::echoes);
                b.append(Double.isNaN(v) ? " – |" : String.format(Locale.ROOT, " %,.0f (%s / %s) |", v, ratio(v, vc), ratio(v, vn)));
            }
            List<Measured> lat = run.of(c, Scenario.LATENCY);
            if (latency) {
                double p50 = median(lat, m -> m.load().p50Micros());
                double p99 = median(lat, m -> m.load().p99Micros());
                b.append(Double.isNaN(p50) ? " – |" : String.format(Locale.ROOT, " %.0f / %.0f |", p50, p99));
            }
            b.append(' ');
            if (sysMain != null) {
                b.append(syscalls(median(run.of(c, sysMain), Measured::syscallsPerEcho))).append(latency ? " / " : "");
            }
            if (latency) {
                b.append(syscalls(median(lat, Measured::syscallsPerEcho)));
            }
            b.append(" |");
            List<LoadResult> all = run.measured().get(c).values().stream().flatMap(List::stream).map(Measured::load).toList();
            long lost = all.stream().mapToLong(LoadResult::lost).sum();
            long corrupt = all.stream().mapToLong(LoadResult::corrupt).sum();
            if (latency) {
                long lostBelow = lat == null ? 0 : lat.stream().mapToLong(m -> m.load().lost()).sum();
                b.append(String.format(Locale.ROOT, " %,d / %d (%d at 50%%) |%n", lost, corrupt, lostBelow));
            } else {
                b.append(String.format(Locale.ROOT, " %,d / %d |%n", lost, corrupt));
            }
        }
        run.failed().forEach((c, why) -> {
            if (run.contenders().contains(c) && !run.measured().get(c).isEmpty()) {
                b.append("\n").append(c.label()).append(" stopped starting after some rounds: ").append(why).append('\n');
            }
        });
        b.append("\nMachine: ").append(machine).append(String.format(Locale.ROOT, ". Whole run: %.1f min.%n", minutes));
        b.append("Reproduce: `").append(command).append("`\n");
        return b.toString();
    }

    /**
     * The DTLS comparison's table: per server, the echo scenarios (echoes / s), full handshakes / s
     * and heap per session (medians), each with its ratio to Scandium in the same run (a -nocookie
     * server's handshakes to scandium-nocookie's), the 64 B echo also to plaintext Abyss; and the CPU
     * cores the server and the load generator used in the 64 B window.
     */
    static String dtlsMarkdown(Run run, int rounds, Duration measure, String machine, String command, double minutes) {
        Contender plain = run.named("abyss-plain");
        List<Scenario> echoes = run.scenarios().stream().filter(s -> !s.handshakes() && !s.sessions()).toList();
        Scenario hs = run.scenarios().stream().filter(Scenario::handshakes).findFirst().orElse(null);
        Scenario mem = run.scenarios().stream().filter(Scenario::sessions).findFirst().orElse(null);
        Scenario cpuAt = echoes.contains(Scenario.DTLS_64) ? Scenario.DTLS_64 : echoes.isEmpty() ? hs : echoes.getFirst();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "DTLS 1.2, medians of %d round%s of %.1f s each; in brackets the ratio to Scandium in the same "
                + "run (`×S`) and, for the 64 B echo, to plaintext Abyss (`×plain`). Echo: datagrams echoed per second, 16 peers with 32 in "
                + "flight each, every peer a JDK SSLEngine client (%s), each echo decrypted and checked. Handshakes: full handshakes "
                + "(ECDHE P-256, ECDSA P-256 certificate, no resumption) completed per second, 16 in flight, each from a new source "
                + "address; a -nocookie server skips the HelloVerifyRequest round trip (its ratio is to scandium-nocookie). Heap / session: "
                + "the server JVM's heap after GC (jcmd GC.run, GC.heap_info) before and after that many sessions were established, "
                + "divided by them. Cores: CPU the server process / the load generator's process used over the %s window (in brackets: heap "
                + "the generator's worker thread allocated per echo, the JDK engine's per record wrapped and opened).%n%n",
                rounds, rounds == 1 ? "" : "s", measure.toMillis() / 1000.0, dev.abyss.bench.load.DtlsClient.DEFAULT_SUITE,
                cpuAt == null ? "–" : cpuAt.label()));
        b.append("| server |");
        echoes.forEach(s -> b.append(' ').append(s.label()).append(" (echoes / s) |"));
        if (hs != null) {
            b.append(" handshakes / s |");
        }
        if (mem != null) {
            b.append(' ').append(mem.label()).append(" |");
        }
        b.append(" cores: server / load generator |  lost / corrupt |\n|---|");
        echoes.forEach(s -> b.append("---:|"));
        b.append(hs != null ? "---:|" : "").append(mem != null ? "---:|" : "").append("---:|---:|\n");
        for (Contender c : run.contenders()) {
            b.append("| ").append(c.label()).append(" |");
            String failure = run.failed().get(c);
            int cells = echoes.size() + (hs != null ? 1 : 0) + (mem != null ? 1 : 0) + 2;
            if (failure != null && run.measured().get(c).isEmpty()) {
                b.append(" did not start: ").append(failure.replace("|", "\\|")).append(" |");
                b.append(" |".repeat(cells - 1)).append('\n');
                continue;
            }
            Contender base = run.named(c.cookieless() ? "scandium-nocookie" : "scandium");
            for (Scenario s : echoes) {
                double v = median(run.of(c, s), Results::echoes);
                double vs = base == null ? Double.NaN : median(run.of(base, s), Results::echoes);
                String vsPlain = "";
                if (s == Scenario.DTLS_64 && plain != null && c.encrypted()) {
                    vsPlain = ", ×plain " + ratio(v, median(run.of(plain, s), Results::echoes));
                }
                b.append(Double.isNaN(v) ? " – |" : String.format(Locale.ROOT, " %,.0f (×S %s%s) |", v, ratio(v, vs), vsPlain));
            }
            if (hs != null) {
                double v = median(run.of(c, hs), m -> m.handshakes().perSecond());
                double vs = base == null ? Double.NaN : median(run.of(base, hs), m -> m.handshakes().perSecond());
                b.append(Double.isNaN(v) ? " – |" : String.format(Locale.ROOT, " %,.0f (×S %s) |", v, ratio(v, vs)));
            }
            if (mem != null) {
                double v = median(run.of(c, mem), Measured::bytesPerSession);
                double vs = base == null ? Double.NaN : median(run.of(base, mem), Measured::bytesPerSession);
                b.append(Double.isNaN(v) ? " – |" : String.format(Locale.ROOT, " %,.0f B (×S %s) |", v, ratio(v, vs)));
            }
            Scenario at = c.cookieless() ? hs : cpuAt;
            double server = at == null ? Double.NaN : median(run.of(c, at), Measured::serverCores);
            double client = at == null ? Double.NaN : median(run.of(c, at), Measured::clientCores);
            double alloc = at == null ? Double.NaN : median(run.of(c, at), m -> m.load() == null ? Double.NaN : m.load().clientBytesPerEcho());
            b.append(Double.isNaN(server) ? " – |" : String.format(Locale.ROOT, " %.2f / %.2f%s |", server, client,
                    Double.isNaN(alloc) ? "" : String.format(Locale.ROOT, " (%,.0f B / echo)", alloc)));
            List<LoadResult> all = run.measured().get(c).values().stream().flatMap(List::stream).map(Measured::load)
                    .filter(java.util.Objects::nonNull).toList();
            b.append(String.format(Locale.ROOT, " %,d / %d |%n", all.stream().mapToLong(LoadResult::lost).sum(),
                    all.stream().mapToLong(LoadResult::corrupt).sum()));
        }
        run.failed().forEach((c, why) -> {
            if (run.contenders().contains(c) && !run.measured().get(c).isEmpty()) {
                b.append("\n").append(c.label()).append(" stopped starting after some rounds: ").append(why).append('\n');
            }
        });
        b.append("\nMachine: ").append(machine).append(String.format(Locale.ROOT, ". Whole run: %.1f min.%n", minutes));
        b.append("Reproduce: `").append(command).append("`\n");
        return b.toString();
    }

    static double megabytes(Measured m) {
        return m.bulk().megabytesPerSecond();
    }

    /**
     * The bulk scenario's table: MB/s of replies per server and scenario (median), the ratios to
     * Abyss without GSO (abyss-bulk) and to Netty with GSO (netty-bulk-gso) of the same run.
     */
    static String bulkMarkdown(Run run, int rounds, Duration measure, String syscallNote, String machine, String command,
                               double minutes) {
        Contender base = run.named("abyss-bulk");
        Contender nettyGso = run.named("netty-bulk-gso");
        List<Scenario> scenarios = run.scenarios();
        StringBuilder b = new StringBuilder();
        int peers = scenarios.isEmpty() ? 0 : scenarios.getFirst().peers();
        int window = scenarios.isEmpty() ? 0 : scenarios.getFirst().window();
        b.append(String.format(Locale.ROOT, "Bulk replies: a request of 16 bytes answered with N datagrams of 1,200 bytes to its sender, "
                + "%d peers with %d requests in flight each. MB/s of reply payload received (median of %d round%s of %.1f s each), "
                + "and the ratio to abyss-bulk (Abyss without GSO) / to netty-bulk-gso (Netty epoll with GSO) in the same run. "
                + "GRO client: the load generator's sockets take UDP_GRO coalesced receives and split them at the segment size. "
                + "Syscalls / reply: the server process's system calls (every thread, perf `raw_syscalls:sys_enter`) over the measured "
                + "window, divided by the reply datagrams received in it", peers, window, rounds, rounds == 1 ? "" : "s",
                measure.toMillis() / 1000.0)).append(syscallNote).append(". Lost / corrupt: requests not answered in full within "
                + "300 ms / reply datagrams failing the check, totals over every run of the server.\n\n");
        b.append("| server |");
        scenarios.forEach(s -> b.append(' ').append(s.label()).append(" (MB/s) |"));
        b.append(" syscalls / reply (").append(String.join(" / ", scenarios.stream().map(s -> "N=" + s.replies()
                + (s.gro() ? "" : " plain")).toList())).append(") | lost / corrupt |\n|---|");
        scenarios.forEach(s -> b.append("---:|"));
        b.append("---:|---:|\n");
        for (Contender c : run.contenders()) {
            b.append("| ").append(c.label()).append(" |");
            String failure = run.failed().get(c);
            if (failure != null && run.measured().get(c).isEmpty()) {
                b.append(" did not start: ").append(failure.replace("|", "\\|")).append(" |");
                b.append(" |".repeat(scenarios.size() + 1)).append('\n');
                continue;
            }
            for (Scenario s : scenarios) {
                double v = median(run.of(c, s), Results::megabytes);
                double vb = base == null ? Double.NaN : median(run.of(base, s), Results::megabytes);
                double vn = nettyGso == null ? Double.NaN : median(run.of(nettyGso, s), Results::megabytes);
                b.append(Double.isNaN(v) ? " – |" : String.format(Locale.ROOT, " %,.0f (%s / %s) |", v, ratio(v, vb), ratio(v, vn)));
            }
            b.append(' ').append(String.join(" / ", scenarios.stream()
                    .map(s -> bulkSyscalls(median(run.of(c, s), Measured::syscallsPerEcho))).toList())).append(" |");
            List<dev.abyss.bench.load.BulkResult> all = run.measured().get(c).values().stream().flatMap(List::stream)
                    .map(Measured::bulk).toList();
            b.append(String.format(Locale.ROOT, " %,d / %,d |%n", all.stream().mapToLong(dev.abyss.bench.load.BulkResult::lost).sum(),
                    all.stream().mapToLong(dev.abyss.bench.load.BulkResult::corrupt).sum()));
        }
        run.failed().forEach((c, why) -> {
            if (run.contenders().contains(c) && !run.measured().get(c).isEmpty()) {
                b.append("\n").append(c.label()).append(" stopped starting after some rounds: ").append(why).append('\n');
            }
        });
        b.append("\nMachine: ").append(machine).append(String.format(Locale.ROOT, ". Whole run: %.1f min.%n", minutes));
        b.append("Reproduce: `").append(command).append("`\n");
        return b.toString();
    }

    /** Syscalls per reply datagram: GSO sends go well below 0.01. */
    private static String bulkSyscalls(double perReply) {
        return Double.isNaN(perReply) ? "n/a" : String.format(Locale.ROOT, perReply < 0.01 ? "%.4f" : "%.3f", perReply);
    }

    static void bulkChart(Run run, Path png) throws Exception {
        barChart(run, run.scenarios(), Results::megabytes, png, 1200, 600,
                "UDP bulk replies: MB/s of reply payload received (median), higher is better", "replies per request", "MB/s");
    }

    private static String ratio(double v, double reference) {
        return Double.isNaN(reference) || reference == 0 ? "–" : String.format(Locale.ROOT, "%.2fx", v / reference);
    }

    private static String syscalls(double perEcho) {
        return Double.isNaN(perEcho) ? "n/a" : String.format(Locale.ROOT, perEcho < 0.1 ? "%.3f" : "%.2f", perEcho);
    }

    static void chart(Run run, Path png) throws Exception {
        barChart(run, run.throughput(), Results::echoes, png, 1400, 650,
                "UDP echo: datagrams per second (median), higher is better", "scenario", "echoes / s");
    }

    /** One bar per contender and scenario: the median of {@code metric}; a contender that never started gets no bar. */
    private static void barChart(Run run, List<Scenario> scenarios, ToDoubleFunction<Measured> metric, Path png, int width,
                                 int height, String title, String xTitle, String yTitle) throws Exception {
        if (scenarios.isEmpty()) {
            return;
        }
        CategoryChart chart = new CategoryChartBuilder().width(width).height(height).title(title)
                .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setYAxisDecimalPattern("#,###");
        List<String> xs = scenarios.stream().map(Scenario::label).toList();
        int series = 0;
        for (Contender c : run.contenders()) {
            if (run.measured().get(c).isEmpty()) {
                continue; // did not start: no bar rather than a zero bar
            }
            List<Double> ys = new ArrayList<>();
            for (Scenario s : scenarios) {
                double v = median(run.of(c, s), metric);
                ys.add(Double.isNaN(v) ? 0 : v);
            }
            chart.addSeries(c.label(), xs, ys);
            series++;
        }
        if (series > 0) {
            BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        }
    }

    static String machine() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (Exception ignored) {
            // not Linux: keep "unknown"
        }
        return String.format(Locale.ROOT, "%s, %d cores, Linux %s, JDK %s, %s", cpu, Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.version"), System.getProperty("java.version"), LocalDate.now());
    }
}
