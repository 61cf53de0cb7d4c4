package dev.abyss.server.transport;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;

import java.io.File;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/**
 * A bound, non-blocking datagram socket with the server's options: the one place where the native
 * transports (epoll, io_uring) create sockets, so an option is written once. Closing it closes the
 * descriptor and unlinks an AF_UNIX path.
 */
public final class UdpSocket implements AutoCloseable {
    private final int fd;
    private final SocketAddress local;
    private final String unixPath; // to unlink on close
    private boolean closed;

    private UdpSocket(int fd, SocketAddress local) {
        this.fd = fd;
        this.local = local;
        this.unixPath = local instanceof UnixDomainSocketAddress u && !u.getPath().toString().startsWith("@")
                ? u.getPath().toString() : null;
    }

    /**
     * Opens a socket bound to {@code address}; SO_REUSEPORT when {@code reusePort}; with
     * {@code probeFirst}, a bind without sharing options first proves the address is free.
     */
    public static UdpSocket open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst)
            throws NativeException {
        return open(settings, address, reusePort, probeFirst, true);
    }

    /** As {@link #open(TransportSettings, SocketAddress, boolean, boolean)}, blocking unless {@code nonBlocking}. */
    public static UdpSocket open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                                 boolean nonBlocking) throws NativeException {
        if (probeFirst) {
            address = probe(address);
        }
        int family = SockAddr.familyOf(address);
        int fd = Sockets.openDatagram(family, nonBlocking);
        try {
            if (family != Net.AF_UNIX) {
                if (settings.reuseAddress()) {
                    Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEADDR, 1, "SO_REUSEADDR");
                }
                if (reusePort) {
                    Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEPORT, 1, "SO_REUSEPORT");
                }
                if (family == Net.AF_INET6 && address instanceof InetSocketAddress inet
                        && inet.getAddress() instanceof Inet6Address) {
                    Sockets.setInt(fd, Net.IPPROTO_IPV6, Net.IPV6_V6ONLY, settings.ipv6Only() ? 1 : 0, "IPV6_V6ONLY");
                }
            }
            if (settings.receiveBufferSize() > 0) {
                Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, settings.receiveBufferSize(), "SO_RCVBUF");
            }
            if (settings.sendBufferSize() > 0) {
                Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_SNDBUF, settings.sendBufferSize(), "SO_SNDBUF");
            }
            Sockets.bind(fd, address);
            return new UdpSocket(fd, family == Net.AF_UNIX ? address : Sockets.localAddress(fd));
        } catch (NativeException | RuntimeException e) {
            LibC.close(fd);
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

    public int fd() {
        return fd;
    }

    public SocketAddress localAddress() {
        return local;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LibC.close(fd);
        if (unixPath != null) {
            new File(unixPath).delete();
        }
    }
}
