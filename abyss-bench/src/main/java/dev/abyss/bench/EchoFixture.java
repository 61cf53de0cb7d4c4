package dev.abyss.bench;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * An Abyss echo server and {@code peers} connected blocking client sockets on loopback, for the
 * round-trip benchmarks; also measures what the acceptor thread alone allocates.
 */
final class EchoFixture implements AutoCloseable {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    final Server server;
    private final Arena arena = Arena.ofShared();
    private final int[] fds;
    private final MemorySegment out;
    private final MemorySegment in;
    private Thread acceptor;
    private long allocatedAtStart;
    private long datagramsAtStart;

    EchoFixture(ServerConfig config, int peers, int payload) throws java.io.IOException {
        server = Abyss.start(config);
        out = arena.allocate(payload);
        in = arena.allocate(2048);
        fds = new int[peers];
        for (int i = 0; i < peers; i++) {
            fds[i] = Sockets.openDatagram(Net.AF_INET, false);
            Sockets.bind(fds[i], new InetSocketAddress("127.0.0.1", 0));
            Sockets.connect(fds[i], server.localAddress());
        }
    }

    static ServerConfig.Builder oneAcceptor() {
        return ServerConfig.builder().numAcceptors(1).shutdownTimeout(Duration.ZERO);
    }

    /** Every peer sends one datagram, then every peer reads its echo; returns the datagrams echoed. */
    long roundTrip() {
        long got = 0;
        for (int fd : fds) {
            LibC.write(fd, out, out.byteSize());
        }
        for (int fd : fds) {
            got += LibC.read(fd, in, 2048) > 0 ? 1 : 0;
        }
        return got;
    }

    void markAllocation() {
        acceptor = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("abyss-acceptor-0"))
                .findFirst().orElseThrow();
        allocatedAtStart = THREADS.getThreadAllocatedBytes(acceptor.threadId());
        datagramsAtStart = server.stats().datagramsIn();
    }

    /** Prints what the acceptor thread allocated since {@link #markAllocation()}, per datagram. */
    void reportAllocation() {
        long bytes = THREADS.getThreadAllocatedBytes(acceptor.threadId()) - allocatedAtStart;
        long datagrams = server.stats().datagramsIn() - datagramsAtStart;
        System.out.printf(java.util.Locale.ROOT, "  [acceptor thread: %,d B allocated for %,d datagrams = %.3f B/datagram]%n",
                bytes, datagrams, datagrams == 0 ? 0.0 : (double) bytes / datagrams);
    }

    @Override
    public void close() {
        for (int fd : fds) {
            LibC.close(fd);
        }
        server.stop(Duration.ZERO);
        arena.close();
    }
}
