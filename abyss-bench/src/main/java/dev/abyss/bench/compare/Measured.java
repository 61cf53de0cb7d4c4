package dev.abyss.bench.compare;

import dev.abyss.bench.load.BulkResult;
import dev.abyss.bench.load.LoadResult;

/**
 * One measured run of one server on one scenario: what the load generator saw (an echo scenario's
 * {@code load} or a bulk scenario's {@code bulk}, the other null), and the server's syscalls per
 * echo, or per reply datagram received in a bulk scenario (NaN: not counted).
 */
record Measured(LoadResult load, BulkResult bulk, double syscallsPerEcho) {
    Measured(LoadResult load, double syscallsPerEcho) {
        this(load, null, syscallsPerEcho);
    }

    static Measured bulk(BulkResult bulk, double syscallsPerReply) {
        return new Measured(null, bulk, syscallsPerReply);
    }
}
