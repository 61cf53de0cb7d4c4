package dev.abyss.bench.compare;

import dev.abyss.bench.load.BulkResult;
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

    private static Measured bulk(double megabytesPerSecond, double syscalls) {
        long bytes = Math.round(megabytesPerSecond * 1e6);
        return Measured.bulk(new BulkResult(1, 1, 0, 0, 0, bytes / 1200, bytes, 1, 1.0, 16, true, 10, 20, 30), syscalls);
    }

    @Test
    void theBulkTableHasRatiosToAbyssWithoutGsoAndNettyWithGso() {
        Contender netty = Contender.of("netty-bulk-gso", 1);
        Contender plain = Contender.abyss("abyss-bulk", "abyss-bulk", 1, "EPOLL");
        Contender gso = Contender.abyss("abyss-bulk-gso", "abyss-bulk-gso", 1, "EPOLL");
        Contender broken = Contender.of("c-ref-bulk", 1);
        Contender echo = Contender.of("c-ref", 1);
        Map<Contender, Map<Scenario, List<Measured>>> measured = new LinkedHashMap<>();
        measured.put(netty, new LinkedHashMap<>(Map.of(Scenario.BULK_16, List.of(bulk(1000, 0.01)))));
        measured.put(plain, new LinkedHashMap<>(Map.of(Scenario.BULK_16, List.of(bulk(250, 0.02), bulk(300, 0.02), bulk(200, 0.02)))));
        measured.put(gso, new LinkedHashMap<>(Map.of(Scenario.BULK_16, List.of(bulk(1500, 0.004)))));
        measured.put(broken, new LinkedHashMap<>());
        measured.put(echo, new LinkedHashMap<>(Map.of(Scenario.SMALL_16, List.of(m(300_000, 0.05)))));
        Results.Run run = new Results.Run(List.of(echo, netty, plain, gso, broken), List.of(Scenario.SMALL_16, Scenario.BULK_16), measured,
                Map.of(broken, "gcc could not build echo_ref.c")).part(true);
        assertEquals(List.of(netty, plain, gso, broken), run.contenders());
        String md = Results.bulkMarkdown(run, 3, Duration.ofSeconds(3), "", "machine", "cmd", 0.1);
        List<String> rows = md.lines().filter(l -> l.startsWith("|")).toList();
        assertEquals(6, rows.size(), md);
        long columns = rows.getFirst().chars().filter(ch -> ch == '|').count();
        for (String row : rows) {
            assertEquals(columns, row.chars().filter(ch -> ch == '|').count(), row);
        }
        assertTrue(rows.get(2).contains("1,000 (4.00x / 1.00x)"), rows.get(2));
        assertTrue(rows.get(3).contains("250 (1.00x / 0.25x)"), "the median of 3 rounds: " + rows.get(3));
        assertTrue(rows.get(4).contains("1,500 (6.00x / 1.50x)") && rows.get(4).contains("0.0040"), rows.get(4));
        assertTrue(rows.get(5).contains("did not start: gcc could not build echo_ref.c"), rows.get(5));
    }
}
