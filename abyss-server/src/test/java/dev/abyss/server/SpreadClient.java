package dev.abyss.server;

import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.loopback.LoopbackPeers;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Many distinct IPv4 peers through one socket ({@link LoopbackPeers}): peer {@code n} is
 * 127.(1 + n / 65536).(n / 256 % 256).(n % 256). The first 4 bytes of each datagram are {@code n},
 * so an echo tells which peer it answers.
 */
final class SpreadClient implements AutoCloseable {
    private final LoopbackPeers peers;
    private final MemorySegment data = Arena.ofAuto().allocate(65_536);
    private final MemorySegment in = Arena.ofAuto().allocate(65_536);

    SpreadClient(SocketAddress server) throws NativeException {
        peers = new LoopbackPeers(server, 4 << 20);
    }

    /** Sends {@code length} bytes (the first 4 are {@code n}) as peer {@code n}; false when the socket buffer is full. */
    boolean send(int n, int length) {
        data.set(JAVA_INT, 0, n);
        return peers.send(n, data, length, Net.MSG_DONTWAIT) >= 0;
    }

    /** The next reply's peer number (its first 4 bytes), or -1 when none is waiting. */
    int receive() {
        return peers.receive(in, Net.MSG_DONTWAIT) >= 4 ? in.get(JAVA_INT, 0) : -1;
    }

    @Override
    public void close() {
        peers.close();
    }
}
