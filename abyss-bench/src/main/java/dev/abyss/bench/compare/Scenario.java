package dev.abyss.bench.compare;

/**
 * A load shape of the comparison. {@code id}: how --scenarios names it. {@code atHalfPeak}: offered
 * at 50% of the C reference's peak on the 64-byte, 16-peer scenario, to compare latency below
 * saturation. {@code replies} > 0: a bulk scenario, run against the bulk servers only: each request
 * answered with that many datagrams of 1,200 bytes ({@code window} requests in flight per peer),
 * received with UDP_GRO when {@code gro}; {@code size} does not apply. {@code dtls}: a scenario of
 * the DTLS comparison, run against its servers only (the encrypted ones over DTLS, plaintext Abyss
 * in the clear): an echo, or {@link #handshakes()} ({@code peers} handshakes in flight), or
 * {@link #sessions()} (heap per established session, {@code peers} sessions).
 */
record Scenario(String id, String label, int peers, int window, int size, boolean atHalfPeak, int replies, boolean gro, boolean dtls) {
    static final Scenario SMALL_1 = new Scenario("64B-1", "64 B, 1 peer", 1, 64, 64, false);
    static final Scenario SMALL_16 = new Scenario("64B-16", "64 B, 16 peers", 16, 32, 64, false);
    static final Scenario SMALL_1024 = new Scenario("64B-1024", "64 B, 1,024 peers", 1024, 4, 64, false);
    static final Scenario LARGE_16 = new Scenario("1400B-16", "1,400 B, 16 peers", 16, 32, 1400, false);
    static final Scenario LATENCY = new Scenario("latency", "64 B, 16 peers at 50% of C peak", 16, 64, 64, true);
    static final Scenario DTLS_64 = dtls("dtls-64B-16", "DTLS 64 B, 16 peers", 16, 32, 64);
    static final Scenario DTLS_1200 = dtls("dtls-1200B-16", "DTLS 1,200 B, 16 peers", 16, 32, 1200);
    static final Scenario DTLS_HANDSHAKES = dtls("dtls-handshakes", "full handshakes / s, 16 in flight", 16, 0, 0);
    static final int DTLS_SESSIONS_DEFAULT = 10_000;
    static final Scenario DTLS_SESSIONS = dtls("dtls-sessions", "heap / session", DTLS_SESSIONS_DEFAULT, 0, 0);
    static final int BULK_PEERS = 16;
    static final int BULK_WINDOW = 4;
    static final Scenario BULK_16 = bulk(16, true);
    static final Scenario BULK_64 = bulk(64, true);
    static final Scenario BULK_16_NOGRO = bulk(16, false);
    static final Scenario BULK_64_NOGRO = bulk(64, false);

    Scenario(String id, String label, int peers, int window, int size, boolean atHalfPeak) {
        this(id, label, peers, window, size, atHalfPeak, 0, false, false);
    }

    private static Scenario dtls(String id, String label, int peers, int window, int size) {
        return new Scenario(id, label, peers, window, size, false, 0, false, true);
    }

    /** The DTLS handshake scenario: full handshakes per second. */
    boolean handshakes() {
        return dtls && id.equals("dtls-handshakes");
    }

    /** The DTLS memory scenario: heap per established session at {@code peers} sessions. */
    boolean sessions() {
        return dtls && id.equals("dtls-sessions");
    }

    /** This memory scenario with {@code n} sessions. */
    Scenario withSessions(int n) {
        return new Scenario(id, String.format(java.util.Locale.ROOT, "heap / session at %,d", n), n, window, size, atHalfPeak, replies, gro, dtls);
    }

    private static Scenario bulk(int replies, boolean gro) {
        return new Scenario("bulk-" + replies + (gro ? "" : "-nogro"), replies + " × 1,200 B" + (gro ? ", GRO client" : ", plain client"),
                BULK_PEERS, BULK_WINDOW, 0, false, replies, gro, false);
    }

    /** This bulk scenario with {@code peers} peers of {@code window} requests in flight each. */
    Scenario withShape(int peers, int window) {
        return new Scenario(id, label, peers, window, size, atHalfPeak, replies, gro, dtls);
    }

    boolean bulk() {
        return replies > 0;
    }
}
