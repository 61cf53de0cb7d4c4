package dev.abyss.server.transport.nio;

import dev.abyss.ffi.Errno;

import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.Locale;

/**
 * The errno a NIO exception stands for. The JDK reports socket errors as exceptions whose message
 * is the C library's text ({@code strerror}), so the mapping goes by type first, then by that text;
 * what it does not recognise is {@code EIO}. Uses only {@link Errno}'s constants: loading that class
 * links no native function, so this works without native access.
 */
final class NioErrno {
    /** An errno and the (lower-case) strerror texts of glibc and musl that stand for it. */
    private record Text(int errno, String... fragments) {
    }

    /** Tried in order: the first whose fragment the message contains wins. */
    private static final Text[] TEXTS = {
            new Text(Errno.EMSGSIZE, "message too long"),
            new Text(Errno.ENOBUFS, "no buffer space"),
            new Text(Errno.ENETUNREACH, "network is unreachable"),
            new Text(Errno.EHOSTUNREACH, "host is unreachable", "no route to host"),
            new Text(Errno.ECONNREFUSED, "connection refused"),
            new Text(Errno.EACCES, "permission denied"),
            new Text(Errno.EPERM, "operation not permitted"),
            new Text(Errno.EADDRNOTAVAIL, "cannot assign requested address", "address not available"),
            new Text(Errno.EAFNOSUPPORT, "address family not supported"),
            new Text(Errno.ENETDOWN, "network is down"),
            new Text(Errno.EINVAL, "invalid argument", "port 0"),
    };

    private NioErrno() {
    }

    /** The Linux errno closest to {@code failure}. */
    static int of(Throwable failure) {
        if (failure instanceof ClosedChannelException) {
            return Errno.EBADF;
        }
        if (failure instanceof PortUnreachableException) {
            return Errno.ECONNREFUSED;
        }
        if (failure instanceof NoRouteToHostException) {
            return Errno.EHOSTUNREACH;
        }
        if (failure instanceof UnsupportedAddressTypeException) {
            return Errno.EAFNOSUPPORT; // e.g. an IPv6 destination on an IPv4 channel
        }
        String m = failure.getMessage() == null ? "" : failure.getMessage().toLowerCase(Locale.ROOT);
        for (Text t : TEXTS) {
            for (String fragment : t.fragments()) {
                if (m.contains(fragment)) {
                    return t.errno();
                }
            }
        }
        if (failure instanceof IllegalArgumentException) {
            return Errno.EINVAL; // the JDK refuses port 0 itself; Linux says EINVAL
        }
        return Errno.EIO;
    }
}
