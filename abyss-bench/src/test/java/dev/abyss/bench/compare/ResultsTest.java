package dev.abyss.bench.compare;

import dev.abyss.bench.load.LoadResult;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table: one cell per column whatever ran, failures and missing references spelled out. */
class ResultsTest {
    private static Measured m(double echoesPerSecond, double syscalls) {
        return new Measured(new LoadResult((long) echoesPerSecond, (long) echoesPerSecond, 0, 0, 0, 1.0, 64, 10, 20, 30, 40), syscalls);
    }

    @Test
    void everyRowHasEveryColumnAndAFailedServerSaysWhy() {
        Contender ref = Contender.of("c-ref", 1);
        Contender uring = Contender.of("c-iouring", 1);
        Contender broken = Contender.abyss("abyss-uring", "abyss-segment", 1, "IO_URING");
        Map<Contender, Map<Scenario, List<Measured>>> measured = new LinkedHashMap<>();
        measured.put(ref, new LinkedHashMap<>(Map.of(Scenario.SMALL_16, List.of(m(300_000, 0.05)), Scenario.LATENCY, List.of(m(150_000, 0.8)))));
        measured.put(uring, new LinkedHashMap<>(Map.of(Scenario.SMALL_16, List.of(m(330_000, 0.015)), Scenario.LATENCY, List.of(m(150_000, Double.NaN)))));
        measured.put(broken, new LinkedHashMap<>());
        Results.Run run = new Results.Run(List.of(ref, uring, broken), List.of(Scenario.SMALL_16, Scenario.LATENCY), measured,
                Map.of(broken, "IO_URING | not available"));
        String md = Results.markdown(run, 1, Duration.ofSeconds(2), "150,000/s", "", "machine", "cmd", 0.1);
        List<String> rows = md.lines().filter(l -> l.startsWith("|")).toList();
        assertEquals(5, rows.size(), md);
        long columns = rows.getFirst().chars().filter(ch -> ch == '|').count();
        for (String row : rows) {
            assertEquals(columns, row.replace("\\|", "").chars().filter(ch -> ch == '|').count(), row);
        }
        assertTrue(rows.get(2).contains("300,000 (1.00x / –)") && rows.get(2).contains("0.050 / 0.80"), rows.get(2));
        assertTrue(rows.get(3).contains("330,000 (1.10x / –)") && rows.get(3).contains("0.015 / n/a"), rows.get(3));
        assertTrue(rows.get(4).contains("did not start: IO_URING \\| not available"), rows.get(4));
    }
}
