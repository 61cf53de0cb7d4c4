package dev.abyss.nativetests.reliability;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.loopback.LoopbackPeers;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Many distinct IPv4 peers through one socket, as many hosts would be ({@link LoopbackPeers}): the
 * server sees peer {@code n} as 127.(1 + n / 65536).(n / 256 % 256).(n % 256):P and its replies to
 * any of them come back here. The first 4 bytes of each datagram are {@code n}, the rest a pattern.
 * Not thread-safe: one thread sends and receives.
 */
final class ManyPeers implements AutoCloseable {
    private final LoopbackPeers peers;
    private final MemorySegment data = Arena.ofAuto().allocate(65_536);
    private final MemorySegment in = Arena.ofAuto().allocate(65_536);

    ManyPeers(SocketAddress server) throws NativeException {
        peers = new LoopbackPeers(server, 4 << 20);
        try {
            Sockets.setInt(peers.fd(), Net.SOL_SOCKET, Net.SO_SNDBUF, 4 << 20, "SO_SNDBUF");
        } catch (NativeException e) {
            peers.close();
            throw e;
        }
        for (int i = 4; i < data.byteSize(); i++) {
            data.set(JAVA_BYTE, i, (byte) (i * 31 + 7)); // a pattern, not zeros
        }
    }

    /**
     * Sends {@code length} bytes (at least 4; the first 4 are {@code n}) as peer {@code n}; false when
     * the socket's send buffer is full (EAGAIN).
     */
    boolean send(int n, int length) {
        data.set(JAVA_INT, 0, n);
        long r = peers.send(n, data, Math.max(4, length), Net.MSG_DONTWAIT);
        if (r < 0 && r != -Errno.EAGAIN) {
            throw new IllegalStateException("sendmsg as peer " + n + ": errno " + -r);
        }
        return r >= 0;
    }

    /** The next reply's peer number (its first 4 bytes), or -1 when none is waiting. */
    int receive() {
        return peers.receive(in, Net.MSG_DONTWAIT) >= 4 ? in.get(JAVA_INT, 0) : -1;
    }

    /** {@return the port every peer sends from} */
    int port() {
        return peers.port();
    }

    @Override
    public void close() {
        peers.close();
    }
}
