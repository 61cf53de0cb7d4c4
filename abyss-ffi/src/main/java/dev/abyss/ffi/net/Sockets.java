package dev.abyss.ffi.net;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Cold-path socket operations over {@link LibC}: open, options, bind, connect, addresses. Each
 * failure raises a {@link NativeException} that names the call and, where there is one, the address.
 */
public final class Sockets {
    private Sockets() {
    }

    /**
     * Opens a datagram socket of {@code family}, close-on-exec, optionally non-blocking.
     *
     * @param family      {@link Net#AF_INET}, {@link Net#AF_INET6} or {@link Net#AF_UNIX}
     * @param nonBlocking whether the socket is {@code SOCK_NONBLOCK}
     * @return the socket's file descriptor
     * @throws NativeException when {@code socket} fails
     */
    public static int openDatagram(int family, boolean nonBlocking) throws NativeException {
        int type = Net.SOCK_DGRAM | Net.SOCK_CLOEXEC | (nonBlocking ? Net.SOCK_NONBLOCK : 0);
        return LibC.check(LibC.socket(family, type, 0), "socket(" + familyName(family) + ", SOCK_DGRAM)");
    }

    /**
     * Sets an {@code int} socket option.
     *
     * @param fd         the socket
     * @param level      e.g. {@link Net#SOL_SOCKET}
     * @param option     e.g. {@link Net#SO_RCVBUF}
     * @param value      the value
     * @param optionName the option's name for the exception message
     * @throws NativeException when {@code setsockopt} fails
     */
    public static void setInt(int fd, int level, int option, int value, String optionName) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocateFrom(JAVA_INT, value);
            LibC.check(LibC.setsockopt(fd, level, option, v, 4), "setsockopt(" + optionName + "=" + value + ")");
        }
    }

    /**
     * Reads an {@code int} socket option.
     *
     * @param fd         the socket
     * @param level      e.g. {@link Net#SOL_SOCKET}
     * @param option     e.g. {@link Net#SO_RCVBUF}
     * @param optionName the option's name for the exception message
     * @return its value
     * @throws NativeException when {@code getsockopt} fails
     */
    public static int getInt(int fd, int level, int option, String optionName) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            MemorySegment len = arena.allocateFrom(JAVA_INT, 4);
            LibC.check(LibC.getsockopt(fd, level, option, v, len), "getsockopt(" + optionName + ")");
            return v.get(JAVA_INT, 0);
        }
    }

    /**
     * Sets a socket option from raw bytes (a struct, a string, or an {@code int} in host byte order).
     *
     * @param fd         the socket
     * @param level      the option's level
     * @param option     the option
     * @param value      its bytes
     * @param optionName the option's name for the exception message
     * @throws NativeException when {@code setsockopt} fails
     */
    public static void setBytes(int fd, int level, int option, byte[] value, String optionName) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, value.length);
            LibC.check(LibC.setsockopt(fd, level, option, v, value.length), "setsockopt(" + optionName + ")");
        }
    }

    /**
     * Reads a socket option as raw bytes.
     *
     * @param fd         the socket
     * @param level      the option's level
     * @param option     the option
     * @param capacity   the most bytes to read
     * @param optionName the option's name for the exception message
     * @return the bytes the kernel wrote
     * @throws NativeException when {@code getsockopt} fails
     */
    public static byte[] getBytes(int fd, int level, int option, int capacity, String optionName) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(Math.max(1, capacity));
            MemorySegment len = arena.allocateFrom(JAVA_INT, capacity);
            LibC.check(LibC.getsockopt(fd, level, option, v, len), "getsockopt(" + optionName + ")");
            return v.asSlice(0, Math.min(capacity, len.get(JAVA_INT, 0))).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * Binds {@code fd} to {@code address}; a failure names the address (e.g. EADDRINUSE on 127.0.0.1:53).
     *
     * @param fd      the socket
     * @param address the local address
     * @throws NativeException when {@code bind} fails
     */
    public static void bind(int fd, SocketAddress address) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            int len = SockAddr.write(address, sa);
            int rc = LibC.bind(fd, sa, len);
            if (rc < 0) {
                throw new NativeException("bind(" + address + ")", -rc);
            }
        }
    }

    /**
     * Connects {@code fd} to {@code address}: the socket then sends there by default and receives only from there.
     *
     * @param fd      the socket
     * @param address the remote address
     * @throws NativeException when {@code connect} fails
     */
    public static void connect(int fd, SocketAddress address) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            int len = SockAddr.write(address, sa);
            int rc = LibC.connect(fd, sa, len);
            if (rc < 0) {
                throw new NativeException("connect(" + address + ")", -rc);
            }
        }
    }

    /**
     * The address {@code fd} is bound to, with the port the kernel chose when bound to port 0.
     *
     * @param fd the socket
     * @return its local address
     * @throws NativeException when {@code getsockname} fails
     */
    public static SocketAddress localAddress(int fd) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            MemorySegment len = arena.allocateFrom(JAVA_INT, SockAddr.STORAGE_SIZE);
            LibC.check(LibC.getsockname(fd, sa, len), "getsockname");
            return SockAddr.read(sa, len.get(JAVA_INT, 0));
        }
    }

    /**
     * Closes {@code fd}, raising on failure (EBADF for a descriptor that is not open).
     *
     * @param fd the descriptor
     * @throws NativeException when {@code close} fails
     */
    public static void close(int fd) throws NativeException {
        LibC.check(LibC.close(fd), "close(" + fd + ")");
    }

    /**
     * Makes {@code fd} blocking or non-blocking ({@code O_NONBLOCK}, a flag of the open file
     * description: shared with every copy of the descriptor, e.g. one inherited from systemd).
     *
     * @param fd          the descriptor
     * @param nonBlocking whether it is to be non-blocking
     * @throws NativeException when {@code fcntl} fails (EBADF: {@code fd} is not open)
     */
    public static void setNonBlocking(int fd, boolean nonBlocking) throws NativeException {
        int flags = LibC.check(LibC.fcntl(fd, Net.F_GETFL, 0), "fcntl(" + fd + ", F_GETFL)");
        int wanted = nonBlocking ? flags | Net.O_NONBLOCK : flags & ~Net.O_NONBLOCK;
        if (wanted != flags) {
            LibC.check(LibC.fcntl(fd, Net.F_SETFL, wanted), "fcntl(" + fd + ", F_SETFL, " + (nonBlocking ? "O_NONBLOCK" : "~O_NONBLOCK") + ")");
        }
    }

    /**
     * Marks {@code fd} close-on-exec ({@code FD_CLOEXEC}), as {@link #openDatagram} opens its sockets:
     * a process this one starts does not inherit it.
     *
     * @param fd the descriptor
     * @throws NativeException when {@code fcntl} fails
     */
    public static void setCloseOnExec(int fd) throws NativeException {
        int flags = LibC.check(LibC.fcntl(fd, Net.F_GETFD, 0), "fcntl(" + fd + ", F_GETFD)");
        if ((flags & Net.FD_CLOEXEC) == 0) {
            LibC.check(LibC.fcntl(fd, Net.F_SETFD, flags | Net.FD_CLOEXEC), "fcntl(" + fd + ", F_SETFD, FD_CLOEXEC)");
        }
    }

    /**
     * The C name of a socket type.
     *
     * @param type a {@code SOCK_*} value, as {@code SO_TYPE} reads it
     * @return {@code "SOCK_DGRAM"}, {@code "SOCK_STREAM"}, or {@code "type <n>"}
     */
    public static String typeName(int type) {
        return switch (type) {
            case Net.SOCK_DGRAM -> "SOCK_DGRAM";
            case Net.SOCK_STREAM -> "SOCK_STREAM";
            case 5 -> "SOCK_SEQPACKET";
            case 3 -> "SOCK_RAW";
            default -> "type " + type;
        };
    }

    /**
     * The C name of an address family.
     *
     * @param family an {@code AF_*} value
     * @return {@code "AF_INET"}, {@code "AF_INET6"}, {@code "AF_UNIX"} or {@code "family <n>"}
     */
    public static String familyName(int family) {
        return switch (family) {
            case Net.AF_INET -> "AF_INET";
            case Net.AF_INET6 -> "AF_INET6";
            case Net.AF_UNIX -> "AF_UNIX";
            default -> "family " + family;
        };
    }
}
