package dev.abyss.bench.compare;

/**
 * A server in the comparison. {@code name}: the row's name; {@code kind}: what runs (a kind of
 * EchoServers, or "c-ref" / "c-iouring" / "c-ref-bulk"); {@code transport}: the Abyss TransportKind for abyss-*
 * kinds, else null (for the Abyss CLI's kinds, abyss-cli-*, its --transport name). The DTLS comparison's
 * servers: scandium, scandium-nocookie (Californium's Scandium, {@link dev.abyss.bench.dtls.ScandiumEcho}),
 * abyss-cli-dtls (bin/abyss --handler session_echo with DTLS on), abyss-cli-plain (the same, in the clear).
 */
record Contender(String name, String kind, int threads, String transport) {
    static Contender of(String kind, int threads) {
        return new Contender(kind, kind, threads, null);
    }

    static Contender abyss(String name, String kind, int threads, String transport) {
        return new Contender(name, kind, threads, transport);
    }

    /** How the table and the chart name it. */
    String label() {
        return name + (threads > 1 ? " x" + threads : "");
    }

    /** How --only names it: the label without a space. */
    String id() {
        return name + (threads > 1 ? "-x" + threads : "");
    }

    /** A server of the bulk scenario (answers requests with N datagrams), run only against the bulk scenarios. */
    boolean bulk() {
        return kind.contains("bulk");
    }

    boolean isNative() {
        return kind.startsWith("c-");
    }

    /** The Abyss CLI (abyss-cli.jar) rather than a server of this jar. */
    boolean cli() {
        return kind.startsWith("abyss-cli-");
    }

    /** A server of the DTLS comparison (which runs the DTLS scenarios only). */
    boolean dtls() {
        return kind.startsWith("scandium") || cli();
    }

    /** Speaks DTLS (plaintext Abyss, of the DTLS comparison too, does not). */
    boolean encrypted() {
        return kind.startsWith("scandium") || kind.startsWith("abyss-cli-dtls");
    }

    /** A DTLS server without the cookie round trip, run in the handshake scenario only. */
    boolean cookieless() {
        return kind.endsWith("-nocookie");
    }

    /** Whether this server runs {@code s}: echo, bulk and DTLS servers each their own kind of scenario. */
    boolean runs(Scenario s) {
        if (s.bulk() != bulk() || s.dtls() != dtls()) {
            return false;
        }
        if (cookieless()) {
            return s.handshakes();
        }
        return encrypted() || !(s.handshakes() || s.sessions());
    }
}
