package dev.abyss.server.engine;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.server.ServerConfig;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The EPOLL transport: a non-blocking socket and an eventfd in one epoll set, recvmmsg into a
 * preallocated {@link MessageBatch}, sends gathered into a second batch and written with one
 * sendmmsg. When the kernel's send buffer is full (EAGAIN) the unsent rest stays queued and the
 * socket is watched for EPOLLOUT.
 */
final class EpollTransport implements Transport {
    static final int SEND_SLOT = 65_536;
    private static final int VIEW_WAYS = 8; // distinct lengths remembered per slot
    private static final long SOCKET_TOKEN = 1;
    private static final long WAKE_TOKEN = 2;

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final int wakeFd;
    private final Epoll epoll;
    private final MessageBatch in;
    private final MessageBatch out;
    private final MemorySegment wakeBuffer;
    private final MemorySegment drainBuffer;
    private final PeerKey peer = new PeerKey();
    private final SocketAddress local;
    private final String unixPath; // to unlink on close
    private final AtomicBoolean wakePending = new AtomicBoolean();
    /** Threads inside {@link #wakeup()}: close() waits for them before it frees the eventfd's number. */
    private final AtomicInteger waking = new AtomicInteger();
    /** The session each queued send is for, to count what the kernel took per session. */
    private final SessionImpl[] outSessions;
    /** Read-only views of receive slots, reused per (slot, length) so a steady stream allocates nothing. */
    private final MemorySegment[] views;
    private int outStart;
    private int outCount;
    private boolean receiving = true;
    private boolean watchingOut;
    private volatile boolean closed;

    private EpollTransport(int fd, int wakeFd, Epoll epoll, ServerConfig config, SocketAddress local) {
        this.fd = fd;
        this.wakeFd = wakeFd;
        this.epoll = epoll;
        this.local = local;
        this.unixPath = local instanceof java.net.UnixDomainSocketAddress u && !u.getPath().toString().startsWith("@")
                ? u.getPath().toString() : null;
        this.in = new MessageBatch(arena, config.receiveBatchSize(), config.maxDatagramSize(), 0);
        this.out = new MessageBatch(arena, config.receiveBatchSize(), SEND_SLOT, 0);
        this.outSessions = new SessionImpl[out.capacity()];
        this.views = new MemorySegment[in.capacity() * VIEW_WAYS];
        // other threads write wake-ups from here: GC-managed so close() cannot free it under them
        this.wakeBuffer = Arena.ofAuto().allocate(JAVA_LONG);
        this.drainBuffer = arena.allocate(JAVA_LONG);
    }

    /**
     * Opens a socket bound to {@code address} with the config's socket options; SO_REUSEPORT when
     * {@code reusePort} so every acceptor can bind the same address; the first one {@code probeFirst}.
     */
    static EpollTransport open(ServerConfig config, SocketAddress address, boolean reusePort, boolean probeFirst)
            throws NativeException {
        if (probeFirst) {
            address = probe(address);
        }
        int family = SockAddr.familyOf(address);
        int fd = -1;
        int wake = -1;
        Epoll ep = null;
        try {
            fd = Sockets.openDatagram(family, true);
            if (family != Net.AF_UNIX) {
                if (config.reuseAddress()) {
                    Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEADDR, 1, "SO_REUSEADDR");
                }
                if (reusePort) {
                    Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEPORT, 1, "SO_REUSEPORT");
                }
                if (family == Net.AF_INET6 && address instanceof InetSocketAddress inet
                        && inet.getAddress() instanceof Inet6Address) {
                    Sockets.setInt(fd, Net.IPPROTO_IPV6, Net.IPV6_V6ONLY, config.ipv6Only() ? 1 : 0, "IPV6_V6ONLY");
                }
            }
            if (config.receiveBufferSize() > 0) {
                Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, config.receiveBufferSize(), "SO_RCVBUF");
            }
            if (config.sendBufferSize() > 0) {
                Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_SNDBUF, config.sendBufferSize(), "SO_SNDBUF");
            }
            Sockets.bind(fd, address);
            SocketAddress local = family == Net.AF_UNIX ? address : Sockets.localAddress(fd);
            wake = LibC.check(LibC.eventfd(0, Net.EFD_NONBLOCK | Net.EFD_CLOEXEC), "eventfd");
            ep = Epoll.create(4);
            ep.add(fd, Epoll.EPOLLIN, SOCKET_TOKEN);
            ep.add(wake, Epoll.EPOLLIN, WAKE_TOKEN);
            return new EpollTransport(fd, wake, ep, config, local);
        } catch (NativeException | RuntimeException e) {
            if (ep != null) {
                ep.close();
            }
            if (wake >= 0) {
                LibC.close(wake);
            }
            if (fd >= 0) {
                LibC.close(fd);
            }
            throw e;
        }
    }

    /**
     * SO_REUSEPORT would let us bind next to another process's socket on the same port and split its
     * traffic. A bind with no sharing options first proves the port is free (EADDRINUSE otherwise)
     * and, for port 0, picks the port every acceptor then shares.
     */
    private static SocketAddress probe(SocketAddress address) throws NativeException {
        int probe = Sockets.openDatagram(SockAddr.familyOf(address), true);
        try {
            Sockets.bind(probe, address);
            return Sockets.localAddress(probe);
        } finally {
            LibC.close(probe);
        }
    }

    @Override
    public SocketAddress localAddress() {
        return local;
    }

    @Override
    public int await(int timeoutMillis) {
        int n = epoll.await(timeoutMillis);
        int result = 0;
        for (int i = 0; i < n; i++) {
            long token = epoll.data(i);
            if (token == WAKE_TOKEN) {
                // read, then clear: a wake-up written after the read stays counted in the eventfd,
                // one written before is covered by the drain that follows this await
                LibC.read(wakeFd, drainBuffer, 8);
                wakePending.set(false);
                result |= WOKEN;
            } else if ((epoll.events(i) & Epoll.EPOLLOUT) != 0 && outCount > outStart) {
                result |= WOKEN; // writable again: the caller flushes
                if ((epoll.events(i) & Epoll.EPOLLIN) != 0) {
                    result |= READABLE;
                }
            } else {
                result |= READABLE;
            }
        }
        return result;
    }

    @Override
    public int receive(Sink sink) {
        if (!receiving) {
            return 0;
        }
        int n = in.receive(fd, in.capacity(), Net.MSG_DONTWAIT);
        if (n <= 0) {
            return n == -Errno.EAGAIN || n == -Errno.EINTR ? 0 : n;
        }
        MemorySegment data = in.data();
        MemorySegment names = in.names();
        for (int i = 0; i < n; i++) {
            if (!peer.readFrom(names, in.nameOffset(i), in.nameLength(i))) {
                continue; // unreadable sender address: cannot answer or key it
            }
            int len = Math.min(in.length(i), in.slotSize());
            sink.onDatagram(peer, view(data, i, len), in.truncated(i));
        }
        return n;
    }

    private MemorySegment view(MemorySegment data, int slot, int length) {
        int k = slot * VIEW_WAYS + (length & (VIEW_WAYS - 1));
        MemorySegment v = views[k];
        if (v == null || v.byteSize() != length) {
            v = data.asSlice(in.dataOffset(slot), length).asReadOnly();
            views[k] = v;
        }
        return v;
    }

    @Override
    public boolean send(SessionImpl session, PeerKey to, MemorySegment src, long offset, int length, SendResult result) {
        if (sendRoom(result) == 0) {
            return false; // the kernel's buffer and ours are both full
        }
        int i = outCount++;
        outSessions[i] = session;
        MemorySegment.copy(src, offset, out.data(), out.dataOffset(i), length);
        out.prepareSend(i, length, to.writeTo(out.names(), out.nameOffset(i)));
        return true;
    }

    @Override
    public int sendRoom(SendResult result) {
        if (outCount == out.capacity()) {
            flush(result);
            if (outCount == out.capacity()) {
                compact();
            }
        }
        return out.capacity() - outCount;
    }

    @Override
    public void flush(SendResult result) {
        while (outStart < outCount) {
            int sent = out.send(fd, outStart, outCount - outStart, Net.MSG_DONTWAIT);
            if (sent > 0) {
                for (int k = 0; k < sent; k++) {
                    int i = outStart + k;
                    result.sent(outSessions[i], out.data(), out.dataOffset(i), out.length(i));
                    outSessions[i] = null;
                }
                outStart += sent;
            } else if (sent == -Errno.EAGAIN) {
                watchWritable(true);
                return; // the rest stays queued until EPOLLOUT
            } else if (sent != -Errno.EINTR) {
                // the first entry failed: skip it, keep the rest
                result.failed(outSessions[outStart], out.data(), out.dataOffset(outStart), out.iovLength(outStart), -sent);
                outSessions[outStart++] = null;
            }
        }
        outStart = 0;
        outCount = 0;
        if (watchingOut) {
            watchWritable(false);
        }
    }

    private void compact() {
        if (outStart == 0) {
            return;
        }
        for (int i = outStart; i < outCount; i++) {
            int to = i - outStart;
            MemorySegment.copy(out.data(), out.dataOffset(i), out.data(), out.dataOffset(to), out.iovLength(i));
            MemorySegment.copy(out.names(), out.nameOffset(i), out.names(), out.nameOffset(to), SockAddr.STORAGE_SIZE);
            out.prepareSend(to, out.iovLength(i), out.nameLength(i));
            outSessions[to] = outSessions[i];
            outSessions[i] = null;
        }
        outCount -= outStart;
        outStart = 0;
    }

    private void watchWritable(boolean on) {
        try {
            epoll.modify(fd, (receiving ? Epoll.EPOLLIN : 0) | (on ? Epoll.EPOLLOUT : 0), SOCKET_TOKEN);
            watchingOut = on;
        } catch (NativeException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void wakeup() {
        // StoreLoad: what the caller published (a queued send) must be visible before we read the
        // flag, or the acceptor may clear it, miss the publication, and sleep on it
        VarHandle.fullFence();
        if (wakePending.get()) {
            return; // one wake-up is enough until the acceptor drains it
        }
        waking.incrementAndGet();
        try {
            if (!closed && wakePending.compareAndSet(false, true)) {
                wakeBuffer.set(JAVA_LONG, 0, 1L);
                LibC.write(wakeFd, wakeBuffer, 8);
            }
        } finally {
            waking.decrementAndGet();
        }
    }

    @Override
    public void stopReceiving() {
        receiving = false;
        try {
            epoll.modify(fd, watchingOut ? Epoll.EPOLLOUT : 0, SOCKET_TOKEN);
        } catch (NativeException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (waking.get() != 0) {
            Thread.onSpinWait(); // a writer that saw closed == false finishes before the number is freed
        }
        epoll.close();
        LibC.close(wakeFd);
        LibC.close(fd);
        arena.close();
        if (unixPath != null) {
            new java.io.File(unixPath).delete();
        }
    }
}
