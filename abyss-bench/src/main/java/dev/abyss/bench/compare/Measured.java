package dev.abyss.bench.compare;

import dev.abyss.bench.load.BulkResult;
import dev.abyss.bench.load.HandshakeLoad;
import dev.abyss.bench.load.LoadResult;

/**
 * One measured run of one server on one scenario: what the load generator saw (an echo scenario's
 * {@code load} or a bulk scenario's {@code bulk}, the other null), and the server's syscalls per
 * echo, or per reply datagram received in a bulk scenario (NaN: not counted). The DTLS scenarios:
 * {@code handshakes} (the handshake scenario), {@code bytesPerSession} (the memory scenario, else NaN),
 * and the CPU the load generator's process and the server's used over the measured window, in cores
 * (NaN: not measured).
 */
record Measured(LoadResult load, BulkResult bulk, double syscallsPerEcho, HandshakeLoad.Result handshakes, double bytesPerSession,
                double clientCores, double serverCores) {
    Measured(LoadResult load, double syscallsPerEcho) {
        this(load, null, syscallsPerEcho, null, Double.NaN, Double.NaN, Double.NaN);
    }

    static Measured bulk(BulkResult bulk, double syscallsPerReply) {
        return new Measured(null, bulk, syscallsPerReply, null, Double.NaN, Double.NaN, Double.NaN);
    }

    static Measured echo(LoadResult load, double syscallsPerEcho, double clientCores, double serverCores) {
        return new Measured(load, null, syscallsPerEcho, null, Double.NaN, clientCores, serverCores);
    }

    static Measured handshakes(HandshakeLoad.Result r, double clientCores, double serverCores) {
        return new Measured(null, null, Double.NaN, r, Double.NaN, clientCores, serverCores);
    }

    static Measured sessions(HandshakeLoad.Result r, double bytesPerSession) {
        return new Measured(null, null, Double.NaN, r, bytesPerSession, Double.NaN, Double.NaN);
    }
}
