package dev.abyss.server;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;

import java.net.SocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * A bound datagram socket this process was given (by systemd's socket activation, or by whoever
 * started it), for an acceptor to adopt instead of creating and binding its own: see
 * {@link ServerConfig.Builder#inheritedSockets(List)} and {@link SystemdSockets#listenFds()}.
 *
 * <p>{@link #inspect} checks the descriptor with the kernel: a socket
 * ({@code getsockopt(SO_TYPE)} fails with ENOTSOCK otherwise), of type {@code SOCK_DGRAM}, of family
 * AF_INET, AF_INET6 or AF_UNIX ({@code SO_DOMAIN}), bound ({@code getsockname}).
 *
 * <p>A server started on it owns the descriptor from then on: it closes it when it stops (the
 * kernel's socket lives on in any other process holding a copy, such as systemd).
 *
 * @param fd           the file descriptor, e.g. 3 for systemd's first socket
 * @param family       {@link Net#AF_INET}, {@link Net#AF_INET6} or {@link Net#AF_UNIX}
 * @param localAddress where it is bound ({@code getsockname})
 * @param name         its name ({@code LISTEN_FDNAMES}, systemd's {@code FileDescriptorName=}), or null
 */
public record InheritedSocket(int fd, int family, SocketAddress localAddress, String name) {

    /**
     * Checks the values (not the kernel: see {@link #inspect}).
     *
     * @throws IllegalArgumentException a negative fd, or a family other than AF_INET, AF_INET6, AF_UNIX
     */
    public InheritedSocket {
        if (fd < 0) {
            throw new IllegalArgumentException("inherited socket fd must be >= 0, was " + fd);
        }
        if (family != Net.AF_INET && family != Net.AF_INET6 && family != Net.AF_UNIX) {
            throw new IllegalArgumentException("inherited socket fd " + fd + " is of " + Sockets.familyName(family)
                    + ", not AF_INET, AF_INET6 or AF_UNIX");
        }
        Objects.requireNonNull(localAddress, "localAddress");
    }

    /**
     * Asks the kernel what {@code fd} is and checks that a server can adopt it.
     *
     * @param fd   an open file descriptor of this process
     * @param name its name for messages and {@link #name()}, or null
     * @return the socket, with its family and local address
     * @throws IllegalArgumentException naming the fd (and its name) and what is wrong: not open,
     *                                  not a socket, not a datagram socket, a family other than
     *                                  AF_INET/AF_INET6/AF_UNIX, not bound
     */
    public static InheritedSocket inspect(int fd, String name) {
        String what = "inherited socket fd " + fd + (name != null ? " ('" + name + "')" : "");
        if (fd < 0) {
            throw new IllegalArgumentException(what + ": a file descriptor is >= 0");
        }
        int type;
        int family;
        SocketAddress local;
        try {
            type = Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_TYPE, "SO_TYPE");
        } catch (NativeException e) {
            throw new IllegalArgumentException(what + switch (e.errno()) {
                case Errno.ENOTSOCK -> " is not a socket";
                case Errno.EBADF -> " is not an open file descriptor";
                default -> ": cannot read its socket type";
            } + " (" + e.getMessage() + ")", e);
        }
        if (type != Net.SOCK_DGRAM) {
            throw new IllegalArgumentException(what + " is a " + Sockets.typeName(type)
                    + " socket, not SOCK_DGRAM" + (type == Net.SOCK_STREAM
                    ? " (systemd: ListenDatagram=, not ListenStream=; systemd-socket-activate: --datagram)" : ""));
        }
        try {
            family = Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_DOMAIN, "SO_DOMAIN");
            local = Sockets.localAddress(fd);
        } catch (NativeException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        } catch (RuntimeException e) { // an address family SockAddr does not decode
            throw new IllegalArgumentException(what + ": cannot read its address: " + e.getMessage(), e);
        }
        if (family != Net.AF_INET && family != Net.AF_INET6 && family != Net.AF_UNIX) {
            throw new IllegalArgumentException(what + " is of " + Sockets.familyName(family)
                    + ", not AF_INET, AF_INET6 or AF_UNIX");
        }
        if (local instanceof java.net.InetSocketAddress inet && inet.getPort() == 0
                || local instanceof java.net.UnixDomainSocketAddress u && u.getPath().toString().isEmpty()) {
            throw new IllegalArgumentException(what + " is not bound (its address is " + local + ")");
        }
        return new InheritedSocket(fd, family, local, name);
    }

    /**
     * Checks sockets a server is to adopt together: at least one, no fd twice, one family for all.
     *
     * @param sockets the sockets
     * @return an unmodifiable copy
     * @throws IllegalArgumentException naming the fd that is a duplicate or of another family than the first
     */
    static List<InheritedSocket> checkTogether(List<InheritedSocket> sockets) {
        List<InheritedSocket> all = List.copyOf(sockets);
        if (all.isEmpty()) {
            throw new IllegalArgumentException("inheritedSockets: none given");
        }
        InheritedSocket first = all.getFirst();
        for (int i = 1; i < all.size(); i++) {
            InheritedSocket s = all.get(i);
            for (int j = 0; j < i; j++) {
                if (all.get(j).fd() == s.fd()) {
                    throw new IllegalArgumentException("inheritedSockets: fd " + s.fd() + " given twice");
                }
            }
            if (s.family() != first.family()) {
                throw new IllegalArgumentException("inherited socket fd " + s.fd() + " is " + Sockets.familyName(s.family())
                        + " (" + s.localAddress() + "), another family than fd " + first.fd() + ", "
                        + Sockets.familyName(first.family()) + " (" + first.localAddress() + "): one server's sockets share one family");
            }
        }
        return all;
    }
}
