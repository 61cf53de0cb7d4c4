package dev.abyss.ffi.net;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Socket address structures ({@code sockaddr_in}, {@code sockaddr_in6}, {@code sockaddr_un},
 * {@code sockaddr_storage}) and their conversion to and from {@link InetSocketAddress} and
 * {@link UnixDomainSocketAddress}.
 *
 * <p>These conversions allocate Java objects and are for cold paths (bind, new peers, logs). The
 * hot path reads a peer into a reusable {@link PeerKey} and writes it back with
 * {@link PeerKey#writeTo(MemorySegment)}, allocating nothing.
 *
 * <p>Abstract AF_UNIX names (first path byte NUL) are shown as a path starting with {@code '@'},
 * the convention of {@code ss} and {@code netstat}; an unnamed AF_UNIX peer decodes to the empty path.
 */
public final class SockAddr {
    private SockAddr() {
    }

    /** Ports and IPv4 addresses are big-endian ("network order") in these structures. */
    static final ValueLayout.OfShort NET_SHORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt NET_INT = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfLong NET_LONG = JAVA_LONG.withOrder(ByteOrder.BIG_ENDIAN);

    /** {@code struct sockaddr_in} (IPv4; port and address in network order). */
    public static final StructLayout SOCKADDR_IN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin_family"),
            NET_SHORT.withName("sin_port"),
            NET_INT.withName("sin_addr"),
            MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sin_zero")).withName("sockaddr_in");

    /** {@code struct sockaddr_in6} (IPv6; port in network order). */
    public static final StructLayout SOCKADDR_IN6 = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin6_family"),
            NET_SHORT.withName("sin6_port"),
            NET_INT.withName("sin6_flowinfo"),
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("sin6_addr"),
            JAVA_INT.withName("sin6_scope_id")).withName("sockaddr_in6");

    /** Bytes of {@code sun_path}, including the terminating NUL of a filesystem path. */
    public static final int UNIX_PATH_CAPACITY = 108;

    /** {@code struct sockaddr_un} (AF_UNIX path). */
    public static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sun_family"),
            MemoryLayout.sequenceLayout(UNIX_PATH_CAPACITY, JAVA_BYTE).withName("sun_path")).withName("sockaddr_un");

    /** {@code struct sockaddr_storage}: room and alignment for any address. */
    public static final StructLayout SOCKADDR_STORAGE = MemoryLayout.structLayout(
            JAVA_SHORT.withName("ss_family"),
            MemoryLayout.sequenceLayout(118, JAVA_BYTE).withName("__ss_padding"),
            JAVA_LONG.withName("__ss_align")).withName("sockaddr_storage");

    /** {@code sizeof(struct sockaddr_storage)}: room for any address. */
    public static final int STORAGE_SIZE = (int) SOCKADDR_STORAGE.byteSize();

    static final long FAMILY = 0;
    static final long IN_PORT = SOCKADDR_IN.byteOffset(groupElement("sin_port"));
    static final long IN_ADDR = SOCKADDR_IN.byteOffset(groupElement("sin_addr"));
    static final long IN6_PORT = SOCKADDR_IN6.byteOffset(groupElement("sin6_port"));
    static final long IN6_FLOWINFO = SOCKADDR_IN6.byteOffset(groupElement("sin6_flowinfo"));
    static final long IN6_ADDR = SOCKADDR_IN6.byteOffset(groupElement("sin6_addr"));
    static final long IN6_SCOPE_ID = SOCKADDR_IN6.byteOffset(groupElement("sin6_scope_id"));
    static final long UN_PATH = SOCKADDR_UN.byteOffset(groupElement("sun_path"));

    static final int IN_SIZE = (int) SOCKADDR_IN.byteSize();
    static final int IN6_SIZE = (int) SOCKADDR_IN6.byteSize();

    /**
     * The address family a Java socket address needs.
     *
     * @param address an {@link InetSocketAddress} (resolved) or a {@link UnixDomainSocketAddress}
     * @return {@link Net#AF_INET}, {@link Net#AF_INET6} or {@link Net#AF_UNIX}
     * @throws IllegalArgumentException an unresolved address or another address type
     */
    public static int familyOf(SocketAddress address) {
        return switch (address) {
            case InetSocketAddress inet when inet.getAddress() instanceof Inet4Address -> Net.AF_INET;
            case InetSocketAddress inet when inet.getAddress() instanceof Inet6Address -> Net.AF_INET6;
            case InetSocketAddress inet -> throw new IllegalArgumentException("unresolved address: " + inet);
            case UnixDomainSocketAddress ignored -> Net.AF_UNIX;
            default -> throw new IllegalArgumentException("unsupported socket address type: " + address.getClass().getName());
        };
    }

    /**
     * Writes {@code address} as a C socket address into {@code dst} (at least {@link #STORAGE_SIZE}
     * bytes, or the exact size of the structure).
     *
     * @param address the address
     * @param dst     where to write it
     * @return its length ({@code socklen_t})
     * @throws IllegalArgumentException an unresolved address, or an AF_UNIX path too long for {@code sun_path}
     */
    public static int write(SocketAddress address, MemorySegment dst) {
        return switch (address) {
            case InetSocketAddress inet when inet.getAddress() instanceof Inet4Address v4 ->
                    writeInet4(dst, v4.getAddress(), inet.getPort());
            case InetSocketAddress inet when inet.getAddress() instanceof Inet6Address v6 ->
                    writeInet6(dst, v6.getAddress(), inet.getPort(), v6.getScopeId());
            case InetSocketAddress inet -> throw new IllegalArgumentException("unresolved address: " + inet);
            case UnixDomainSocketAddress unix -> writeUnix(dst, unix);
            default -> throw new IllegalArgumentException("unsupported socket address type: " + address.getClass().getName());
        };
    }

    static int writeInet4(MemorySegment dst, byte[] addr, int port) {
        dst.asSlice(0, IN_SIZE).fill((byte) 0);
        dst.set(JAVA_SHORT, FAMILY, (short) Net.AF_INET);
        dst.set(NET_SHORT, IN_PORT, (short) port);
        MemorySegment.copy(addr, 0, dst, JAVA_BYTE, IN_ADDR, 4);
        return IN_SIZE;
    }

    static int writeInet6(MemorySegment dst, byte[] addr, int port, int scopeId) {
        dst.asSlice(0, IN6_SIZE).fill((byte) 0);
        dst.set(JAVA_SHORT, FAMILY, (short) Net.AF_INET6);
        dst.set(NET_SHORT, IN6_PORT, (short) port);
        MemorySegment.copy(addr, 0, dst, JAVA_BYTE, IN6_ADDR, 16);
        dst.set(JAVA_INT, IN6_SCOPE_ID, scopeId);
        return IN6_SIZE;
    }

    private static int writeUnix(MemorySegment dst, UnixDomainSocketAddress unix) {
        String path = unix.getPath().toString();
        boolean isAbstract = path.startsWith("@");
        byte[] bytes = (isAbstract ? path.substring(1) : path).getBytes(StandardCharsets.UTF_8);
        // a filesystem path needs its terminating NUL; an abstract name uses the leading NUL instead
        int limit = UNIX_PATH_CAPACITY - 1;
        if (bytes.length > limit) {
            throw new IllegalArgumentException("AF_UNIX path is " + bytes.length + " bytes, longer than the "
                    + limit + " that sockaddr_un.sun_path holds: " + path);
        }
        dst.asSlice(0, SOCKADDR_UN.byteSize()).fill((byte) 0);
        dst.set(JAVA_SHORT, FAMILY, (short) Net.AF_UNIX);
        long at = UN_PATH + (isAbstract ? 1 : 0);
        MemorySegment.copy(bytes, 0, dst, JAVA_BYTE, at, bytes.length);
        // abstract names are length-delimited, filesystem paths NUL-terminated
        return (int) (at + bytes.length + (isAbstract ? 0 : 1));
    }

    /**
     * Reads a C socket address of {@code length} bytes. Allocates; use {@link PeerKey} on hot paths.
     *
     * @param src    the address
     * @param length its length, as the kernel reported it
     * @return an {@link InetSocketAddress} or a {@link UnixDomainSocketAddress}
     * @throws IllegalArgumentException an unknown family, or a length too short for its family
     */
    public static SocketAddress read(MemorySegment src, int length) {
        if (length < 2) {
            throw new IllegalArgumentException("socket address of " + length + " bytes has no family");
        }
        int family = src.get(JAVA_SHORT, FAMILY);
        try {
            switch (family) {
                case Net.AF_INET -> {
                    requireLength(length, IN_SIZE, "sockaddr_in");
                    byte[] addr = src.asSlice(IN_ADDR, 4).toArray(JAVA_BYTE);
                    return new InetSocketAddress(InetAddress.getByAddress(addr), Short.toUnsignedInt(src.get(NET_SHORT, IN_PORT)));
                }
                case Net.AF_INET6 -> {
                    requireLength(length, IN6_SIZE, "sockaddr_in6");
                    byte[] addr = src.asSlice(IN6_ADDR, 16).toArray(JAVA_BYTE);
                    int scope = src.get(JAVA_INT, IN6_SCOPE_ID);
                    InetAddress ip = scope != 0 ? Inet6Address.getByAddress(null, addr, scope) : InetAddress.getByAddress(addr);
                    return new InetSocketAddress(ip, Short.toUnsignedInt(src.get(NET_SHORT, IN6_PORT)));
                }
                case Net.AF_UNIX -> {
                    return UnixDomainSocketAddress.of(unixPath(src, length));
                }
                default -> throw new IllegalArgumentException("unsupported address family " + family);
            }
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e); // cannot happen: the lengths are checked
        }
    }

    static String unixPath(MemorySegment src, int length) {
        int pathLength = length - (int) UN_PATH;
        if (pathLength <= 0) {
            return ""; // unnamed (unbound) peer
        }
        pathLength = Math.min(pathLength, UNIX_PATH_CAPACITY);
        byte[] raw = src.asSlice(UN_PATH, pathLength).toArray(JAVA_BYTE);
        if (raw[0] == 0) {
            return "@" + new String(raw, 1, raw.length - 1, StandardCharsets.UTF_8);
        }
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        return new String(raw, 0, end, StandardCharsets.UTF_8);
    }

    private static void requireLength(int length, int needed, String struct) {
        if (length < needed) {
            throw new IllegalArgumentException(struct + " needs " + needed + " bytes, got " + length);
        }
    }
}
