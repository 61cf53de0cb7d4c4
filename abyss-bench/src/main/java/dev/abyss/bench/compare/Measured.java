package dev.abyss.bench.compare;

import dev.abyss.bench.load.LoadResult;

/** One measured run of one server on one scenario: what the load generator saw, and the server's syscalls per echo (NaN: not counted). */
record Measured(LoadResult load, double syscallsPerEcho) {
}
