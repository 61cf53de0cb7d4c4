package dev.abyss.bench.compare;

/**
 * A load shape of the comparison. {@code id}: how --scenarios names it. {@code atHalfPeak}: offered
 * at 50% of the C reference's peak on the 64-byte, 16-peer scenario, to compare latency below
 * saturation. {@code replies} > 0: a bulk scenario, run against the bulk servers only: each request
 * answered with that many datagrams of 1,200 bytes ({@code window} requests in flight per peer),
 * received with UDP_GRO when {@code gro}; {@code size} does not apply.
 */
record Scenario(String id, String label, int peers, int window, int size, boolean atHalfPeak, int replies, boolean gro) {
    static final Scenario SMALL_1 = new Scenario("64B-1", "64 B, 1 peer", 1, 64, 64, false);
    static final Scenario SMALL_16 = new Scenario("64B-16", "64 B, 16 peers", 16, 32, 64, false);
    static final Scenario SMALL_1024 = new Scenario("64B-1024", "64 B, 1,024 peers", 1024, 4, 64, false);
    static final Scenario LARGE_16 = new Scenario("1400B-16", "1,400 B, 16 peers", 16, 32, 1400, false);
    static final Scenario LATENCY = new Scenario("latency", "64 B, 16 peers at 50% of C peak", 16, 64, 64, true);
    static final int BULK_PEERS = 16;
    static final int BULK_WINDOW = 4;
    static final Scenario BULK_16 = bulk(16, true);
    static final Scenario BULK_64 = bulk(64, true);
    static final Scenario BULK_16_NOGRO = bulk(16, false);
    static final Scenario BULK_64_NOGRO = bulk(64, false);

    Scenario(String id, String label, int peers, int window, int size, boolean atHalfPeak) {
        this(id, label, peers, window, size, atHalfPeak, 0, false);
    }

    private static Scenario bulk(int replies, boolean gro) {
        return new Scenario("bulk-" + replies + (gro ? "" : "-nogro"), replies + " × 1,200 B" + (gro ? ", GRO client" : ", plain client"),
                BULK_PEERS, BULK_WINDOW, 0, false, replies, gro);
    }

    /** This bulk scenario with {@code peers} peers of {@code window} requests in flight each. */
    Scenario withShape(int peers, int window) {
        return new Scenario(id, label, peers, window, size, atHalfPeak, replies, gro);
    }

    boolean bulk() {
        return replies > 0;
    }
}
