package dev.abyss.bench.compare;

/**
 * A load shape of the comparison. {@code id}: how --scenarios names it. {@code atHalfPeak}: offered
 * at 50% of the C reference's peak on the 64-byte, 16-peer scenario, to compare latency below
 * saturation.
 */
record Scenario(String id, String label, int peers, int window, int size, boolean atHalfPeak) {
    static final Scenario SMALL_1 = new Scenario("64B-1", "64 B, 1 peer", 1, 64, 64, false);
    static final Scenario SMALL_16 = new Scenario("64B-16", "64 B, 16 peers", 16, 32, 64, false);
    static final Scenario SMALL_1024 = new Scenario("64B-1024", "64 B, 1,024 peers", 1024, 4, 64, false);
    static final Scenario LARGE_16 = new Scenario("1400B-16", "1,400 B, 16 peers", 16, 32, 1400, false);
    static final Scenario LATENCY = new Scenario("latency", "64 B, 16 peers at 50% of C peak", 16, 64, 64, true);
}
