package dev.abyss.server.cli;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A single-threaded UDP echo over abyss-ffi: a non-blocking socket and an eventfd in one epoll set,
 * recvmmsg of up to 64 datagrams, sendmmsg of the same entries back to their senders. Stand-in for
 * the CLI until the server core exists.
 */
final class MinimalEcho implements AutoCloseable {
    private static final int BATCH = 64;
    private static final int SLOT = 65536;
    private static final long SOCKET_TOKEN = 1;
    private static final long WAKE_TOKEN = 2;

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final int wakeFd;
    private final Epoll epoll;
    private final MessageBatch batch;
    private final MemorySegment wakeValue;
    private volatile boolean running = true;
    private long echoed;

    private MinimalEcho(int fd, int wakeFd, Epoll epoll) {
        this.fd = fd;
        this.wakeFd = wakeFd;
        this.epoll = epoll;
        this.batch = new MessageBatch(arena, BATCH, SLOT, 0);
        this.wakeValue = arena.allocate(JAVA_LONG);
    }

    static MinimalEcho open(SocketAddress address) throws NativeException {
        int fd = -1;
        int wake = -1;
        Epoll ep = null;
        try {
            fd = Sockets.openDatagram(SockAddr.familyOf(address), true);
            Main.reuse(fd);
            Sockets.bind(fd, address);
            wake = LibC.check(LibC.eventfd(0, Net.EFD_NONBLOCK | Net.EFD_CLOEXEC), "eventfd");
            ep = Epoll.create(4);
            ep.add(fd, Epoll.EPOLLIN, SOCKET_TOKEN);
            ep.add(wake, Epoll.EPOLLIN, WAKE_TOKEN);
            return new MinimalEcho(fd, wake, ep);
        } catch (NativeException | RuntimeException e) {
            if (ep != null) {
                ep.close();
            }
            Main.closeQuietly(wake);
            Main.closeQuietly(fd);
            throw e;
        }
    }

    SocketAddress localAddress() throws NativeException {
        return Sockets.localAddress(fd);
    }

    long echoed() {
        return echoed;
    }

    /** Serves until {@link #stop()}. */
    void run() {
        while (running) {
            int ready = epoll.await(-1);
            if (ready < 0) {
                throw new IllegalStateException(new NativeException("epoll_wait", -ready));
            }
            drain();
        }
    }

    private void drain() {
        for (int round = 0; round < 16; round++) {
            int n = batch.receive(fd, BATCH, Net.MSG_DONTWAIT);
            if (n <= 0) {
                return; // EAGAIN: drained; other errors (e.g. ECONNREFUSED from an earlier send) are transient
            }
            int start = 0;
            for (int i = 0; i <= n; i++) {
                if (i == n || batch.truncated(i)) {
                    sendRange(start, i);
                    start = i + 1;
                } else {
                    batch.prepareSend(i, batch.length(i), batch.nameLength(i));
                }
            }
        }
    }

    private void sendRange(int from, int to) {
        while (from < to) {
            int sent = batch.send(fd, from, to - from, Net.MSG_DONTWAIT);
            if (sent <= 0) {
                if (sent == -Errno.EINTR) {
                    continue;
                }
                from++; // skip the entry the kernel refused (e.g. ECONNREFUSED): a lost echo, not a stuck loop
                continue;
            }
            echoed += sent;
            from += sent;
        }
    }

    /** Asks the loop to return; callable from any thread. */
    void stop() {
        running = false;
        wakeValue.set(JAVA_LONG, 0, 1L);
        LibC.write(wakeFd, wakeValue, 8);
    }

    @Override
    public void close() {
        epoll.close();
        LibC.close(wakeFd);
        LibC.close(fd);
        arena.close();
    }
}
