package dev.abyss.bench.compare;

/**
 * A server in the comparison. {@code name}: the row's name; {@code kind}: what runs (a kind of
 * EchoServers, or "c-ref" / "c-iouring" / "c-ref-bulk"); {@code transport}: the Abyss TransportKind for abyss-*
 * kinds, else null.
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
}
