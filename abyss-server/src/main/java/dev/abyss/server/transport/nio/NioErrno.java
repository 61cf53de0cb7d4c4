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
        // strerror texts of glibc and musl
        if (m.contains("message too long")) {
            return Errno.EMSGSIZE;
        }
        if (m.contains("no buffer space")) {
            return Errno.ENOBUFS;
        }
        if (m.contains("network is unreachable")) {
            return Errno.ENETUNREACH;
        }
        if (m.contains("host is unreachable") || m.contains("no route to host")) {
            return Errno.EHOSTUNREACH;
        }
        if (m.contains("connection refused")) {
            return Errno.ECONNREFUSED;
        }
        if (m.contains("permission denied")) {
            return Errno.EACCES;
        }
        if (m.contains("operation not permitted")) {
            return Errno.EPERM;
        }
        if (m.contains("cannot assign requested address") || m.contains("address not available")) {
            return Errno.EADDRNOTAVAIL;
        }
        if (m.contains("address family not supported")) {
            return Errno.EAFNOSUPPORT;
        }
        if (m.contains("network is down")) {
            return Errno.ENETDOWN;
        }
        if (m.contains("invalid argument") || m.contains("port 0") // the JDK refuses port 0 itself; Linux says EINVAL
                || failure instanceof IllegalArgumentException) {
            return Errno.EINVAL;
        }
        return Errno.EIO;
    }
}
