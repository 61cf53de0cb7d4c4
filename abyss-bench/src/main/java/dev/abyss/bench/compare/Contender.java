package dev.abyss.bench.compare;

/** A server in the comparison: its kind (see EchoServers, or "c-ref") and thread count. */
record Contender(String kind, int threads) {
    String label() {
        return kind + (threads > 1 ? " x" + threads : "");
    }
}
