package dev.abyss.nativetests;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

import static org.junit.jupiter.api.Assertions.fail;

/** Test helpers: non-blocking loopback sockets and receives bounded by a deadline (epoll, no sleeps). */
final class Loopback {
    private Loopback() {
    }

    static InetSocketAddress any(String host) {
        return new InetSocketAddress(host, 0);
    }

    /** A non-blocking UDP socket bound to {@code host}:0. */
    static int bound(String host) throws NativeException {
        InetSocketAddress a = any(host);
        int fd = Sockets.openDatagram(SockAddr.familyOf(a), true);
        Sockets.bind(fd, a);
        return fd;
    }

    static int receive(int fd, MessageBatch batch, int count) throws NativeException {
        return receive(fd, batch, count, 0);
    }

    /**
     * Waits (epoll, up to 5 s) until {@code fd} is readable, then receives up to {@code count}
     * datagrams with one recvmmsg into entries {@code 0..}; returns how many arrived (0: none in time).
     */
    static int receive(int fd, MessageBatch batch, int count, int extraFlags) throws NativeException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        try (Epoll ep = Epoll.create(1)) {
            ep.add(fd, Epoll.EPOLLIN, fd);
            while (System.nanoTime() < deadline) {
                int ready = ep.await(100);
                if (ready < 0) {
                    throw new NativeException("epoll_wait", -ready);
                }
                if (ready == 0) {
                    continue;
                }
                int n = batch.receive(fd, count, Net.MSG_DONTWAIT | extraFlags);
                if (n > 0) {
                    return n;
                }
            }
        }
        return 0;
    }

    /** Receives exactly {@code count} datagrams (in possibly several recvmmsg calls) and checks each with {@code check}. */
    static void receiveAll(int fd, MessageBatch batch, int count, EntryCheck check) throws NativeException {
        int seen = 0;
        while (seen < count) {
            int n = receive(fd, batch, Math.min(batch.capacity(), count - seen));
            if (n <= 0) {
                fail("received " + seen + " of " + count + " datagrams within 5 s");
            }
            for (int i = 0; i < n; i++) {
                check.check(seen + i, batch, i);
            }
            seen += n;
        }
    }

    interface EntryCheck {
        void check(int sequence, MessageBatch batch, int entry);
    }

    static SocketAddress local(int fd) throws NativeException {
        return Sockets.localAddress(fd);
    }

    /** Writes {@code address} into entry {@code i}'s name slot and returns its length. */
    static int name(MessageBatch batch, int i, SocketAddress address) {
        MemorySegment slot = batch.names().asSlice(batch.nameOffset(i), SockAddr.STORAGE_SIZE);
        return SockAddr.write(address, slot);
    }

    static void close(int... fds) {
        for (int fd : fds) {
            if (fd >= 0) {
                LibC.close(fd);
            }
        }
    }
}
