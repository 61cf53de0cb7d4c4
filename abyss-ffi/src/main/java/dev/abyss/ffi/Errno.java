package dev.abyss.ffi;

/**
 * Linux errno values used by this project (x86_64 and aarch64 share them), with their symbolic
 * names. The numbers are checked against {@code <errno.h>} by the ABI test in native-tests.
 */
public final class Errno {
    private Errno() {
    }

    /** {@code EPERM}: operation not permitted. */
    public static final int EPERM = 1;
    /** {@code ENOENT}: no such file or directory. */
    public static final int ENOENT = 2;
    /** {@code EINTR}: interrupted system call. */
    public static final int EINTR = 4;
    /** {@code EIO}: input/output error. */
    public static final int EIO = 5;
    /** {@code EBADF}: bad file descriptor. */
    public static final int EBADF = 9;
    /** {@code EAGAIN}: resource temporarily unavailable (also EWOULDBLOCK). */
    public static final int EAGAIN = 11;
    /** {@code ENOMEM}: cannot allocate memory. */
    public static final int ENOMEM = 12;
    /** {@code EACCES}: permission denied. */
    public static final int EACCES = 13;
    /** {@code EFAULT}: bad address. */
    public static final int EFAULT = 14;
    /** {@code EBUSY}: device or resource busy. */
    public static final int EBUSY = 16;
    /** {@code EEXIST}: file exists. */
    public static final int EEXIST = 17;
    /** {@code EINVAL}: invalid argument. */
    public static final int EINVAL = 22;
    /** {@code ENFILE}: too many open files in system. */
    public static final int ENFILE = 23;
    /** {@code EMFILE}: too many open files. */
    public static final int EMFILE = 24;
    /** {@code ENOSPC}: no space left on device. */
    public static final int ENOSPC = 28;
    /** {@code EPIPE}: broken pipe. */
    public static final int EPIPE = 32;
    /** {@code ENOSYS}: function not implemented. */
    public static final int ENOSYS = 38;
    /** {@code ETIME}: timer expired. */
    public static final int ETIME = 62;
    /** {@code ENONET}: machine is not on the network. */
    public static final int ENONET = 64;
    /** {@code EPROTO}: protocol error. */
    public static final int EPROTO = 71;
    /** {@code ENOTSOCK}: socket operation on non-socket. */
    public static final int ENOTSOCK = 88;
    /** {@code EDESTADDRREQ}: destination address required. */
    public static final int EDESTADDRREQ = 89;
    /** {@code EMSGSIZE}: message too long. */
    public static final int EMSGSIZE = 90;
    /** {@code ENOPROTOOPT}: protocol not available. */
    public static final int ENOPROTOOPT = 92;
    /** {@code EPROTONOSUPPORT}: protocol not supported. */
    public static final int EPROTONOSUPPORT = 93;
    /** {@code EOPNOTSUPP}: operation not supported. */
    public static final int EOPNOTSUPP = 95;
    /** {@code EAFNOSUPPORT}: address family not supported by protocol. */
    public static final int EAFNOSUPPORT = 97;
    /** {@code ENODEV}: no such device (an unknown interface name). */
    public static final int ENODEV = 19;
    /** {@code EADDRINUSE}: address already in use. */
    public static final int EADDRINUSE = 98;
    /** {@code EADDRNOTAVAIL}: cannot assign requested address. */
    public static final int EADDRNOTAVAIL = 99;
    /** {@code ENETDOWN}: network is down. */
    public static final int ENETDOWN = 100;
    /** {@code ENETUNREACH}: network is unreachable. */
    public static final int ENETUNREACH = 101;
    /** {@code ECONNRESET}: connection reset by peer. */
    public static final int ECONNRESET = 104;
    /** {@code ENOBUFS}: no buffer space available. */
    public static final int ENOBUFS = 105;
    /** {@code ENOTCONN}: transport endpoint is not connected. */
    public static final int ENOTCONN = 107;
    /** {@code ETIMEDOUT}: connection timed out. */
    public static final int ETIMEDOUT = 110;
    /** {@code ECONNREFUSED}: connection refused. */
    public static final int ECONNREFUSED = 111;
    /** {@code EHOSTDOWN}: host is down. */
    public static final int EHOSTDOWN = 112;
    /** {@code EHOSTUNREACH}: no route to host. */
    public static final int EHOSTUNREACH = 113;
    /** {@code EALREADY}: operation already in progress. */
    public static final int EALREADY = 114;
    /** {@code EINPROGRESS}: operation now in progress. */
    public static final int EINPROGRESS = 115;
    /** {@code ECANCELED}: operation canceled. */
    public static final int ECANCELED = 125;

    /**
     * The symbolic name of an errno value.
     *
     * @param errno a positive errno value
     * @return its name, e.g. {@code "EAGAIN"}; {@code "E?<n>"} when unknown here
     */
    public static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENODEV -> "ENODEV";
            case ENOENT -> "ENOENT";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case EINVAL -> "EINVAL";
            case ENFILE -> "ENFILE";
            case EMFILE -> "EMFILE";
            case ENOSPC -> "ENOSPC";
            case EPIPE -> "EPIPE";
            case ENOSYS -> "ENOSYS";
            case ETIME -> "ETIME";
            case ENONET -> "ENONET";
            case EPROTO -> "EPROTO";
            case ENOTSOCK -> "ENOTSOCK";
            case EDESTADDRREQ -> "EDESTADDRREQ";
            case EMSGSIZE -> "EMSGSIZE";
            case ENOPROTOOPT -> "ENOPROTOOPT";
            case EPROTONOSUPPORT -> "EPROTONOSUPPORT";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            case EAFNOSUPPORT -> "EAFNOSUPPORT";
            case EADDRINUSE -> "EADDRINUSE";
            case EADDRNOTAVAIL -> "EADDRNOTAVAIL";
            case ENETDOWN -> "ENETDOWN";
            case ENETUNREACH -> "ENETUNREACH";
            case ECONNRESET -> "ECONNRESET";
            case ENOBUFS -> "ENOBUFS";
            case ENOTCONN -> "ENOTCONN";
            case ETIMEDOUT -> "ETIMEDOUT";
            case ECONNREFUSED -> "ECONNREFUSED";
            case EHOSTDOWN -> "EHOSTDOWN";
            case EHOSTUNREACH -> "EHOSTUNREACH";
            case EALREADY -> "EALREADY";
            case EINPROGRESS -> "EINPROGRESS";
            case ECANCELED -> "ECANCELED";
            default -> "E?" + errno;
        };
    }

    /**
     * The C library's description of an errno value ({@code strerror}).
     *
     * @param errno a positive errno value
     * @return the text, e.g. {@code "Resource temporarily unavailable"}
     */
    public static String describe(int errno) {
        return LibC.strerror(errno);
    }
}
