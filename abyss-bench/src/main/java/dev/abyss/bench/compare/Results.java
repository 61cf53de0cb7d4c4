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

    static double median(List<LoadResult> rs, ToDoubleFunction<LoadResult> f) {
        if (rs == null || rs.isEmpty()) {
            return Double.NaN;
        }
        double[] v = rs.stream().mapToDouble(f).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static String markdown(Map<Contender, Map<Scenario, List<LoadResult>>> results, int rounds, Duration measure,
                           String machine, String command, double minutes) {
        Contender c = Compare.CONTENDERS.getFirst();
        Contender netty = Compare.CONTENDERS.get(1);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Echoed datagrams per second (median of %d round%s of %.1f s each), and the ratio to the C "
                + "reference / to Netty epoll. Latency: p50 / p99 round trip in µs at a fixed offered rate of half the C "
                + "reference's 64 B, 16-peer peak. Lost / corrupt: totals over every run of the server.%n%n",
                rounds, rounds == 1 ? "" : "s", measure.toMillis() / 1000.0));
        b.append("| server |");
        List<Scenario> throughput = Compare.SCENARIOS.stream().filter(s -> !s.atHalfPeak()).toList();
        throughput.forEach(s -> b.append(' ').append(s.label()).append(" |"));
        b.append(" latency at 50% (p50 / p99 µs) | lost / corrupt |\n|---|");
        throughput.forEach(s -> b.append("---:|"));
        b.append("---:|---:|\n");
        for (var e : results.entrySet()) {
            b.append("| ").append(e.getKey().label()).append(" |");
            for (Scenario s : throughput) {
                double v = median(e.getValue().get(s), LoadResult::echoesPerSecond);
                double vc = median(results.get(c).get(s), LoadResult::echoesPerSecond);
                double vn = median(results.get(netty).get(s), LoadResult::echoesPerSecond);
                b.append(String.format(Locale.ROOT, " %,.0f (%.2fx / %.2fx) |", v, v / vc, v / vn));
            }
            List<LoadResult> lat = e.getValue().get(Scenario.LATENCY);
            b.append(String.format(Locale.ROOT, " %.0f / %.0f |", median(lat, LoadResult::p50Micros), median(lat, LoadResult::p99Micros)));
            long lost = e.getValue().values().stream().flatMap(List::stream).mapToLong(LoadResult::lost).sum();
            long corrupt = e.getValue().values().stream().flatMap(List::stream).mapToLong(LoadResult::corrupt).sum();
            long lostBelow = lat == null ? 0 : lat.stream().mapToLong(LoadResult::lost).sum();
            b.append(String.format(Locale.ROOT, " %,d / %d (%d at 50%%) |%n", lost, corrupt, lostBelow));
        }
        b.append("\nMachine: ").append(machine).append(String.format(Locale.ROOT, ". Whole run: %.1f min.%n", minutes));
        b.append("Reproduce: `").append(command).append("`\n");
        return b.toString();
    }

    static void chart(Map<Contender, Map<Scenario, List<LoadResult>>> results, Path png) throws Exception {
        List<Scenario> throughput = Compare.SCENARIOS.stream().filter(s -> !s.atHalfPeak()).toList();
        CategoryChart chart = new CategoryChartBuilder().width(1400).height(650)
                .title("UDP echo: datagrams per second (median), higher is better")
                .xAxisTitle("scenario").yAxisTitle("echoes / s").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setYAxisDecimalPattern("#,###");
        List<String> xs = throughput.stream().map(Scenario::label).toList();
        for (var e : results.entrySet()) {
            List<Double> ys = new ArrayList<>();
            for (Scenario s : throughput) {
                double v = median(e.getValue().get(s), LoadResult::echoesPerSecond);
                ys.add(Double.isNaN(v) ? 0 : v);
            }
            chart.addSeries(e.getKey().label(), xs, ys);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
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
