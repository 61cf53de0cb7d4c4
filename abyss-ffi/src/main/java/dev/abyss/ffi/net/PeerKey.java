package dev.abyss.ffi.net;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A remote peer's address in compact, comparable form, read from a C socket address without
 * allocating: the key of the session table.
 *
 * <p>A {@code PeerKey} is mutable so one instance per receive loop can be reused for every
 * datagram; {@link #copy()} makes the instance a table keeps. IP addresses are held as two longs
 * (an IPv4 address in the low 32 bits of {@code lo}), plus port and IPv6 scope id; AF_UNIX peers keep
 * their path bytes.
 */
public final class PeerKey {
    private int family;
    private int port;
    private int scopeId;
    private long hi;
    private long lo;
    private byte[] path; // AF_UNIX only, allocated on first use
    private int pathLength;

    /** An empty key; {@link #readFrom} or {@link #set} fills it. */
    public PeerKey() {
    }

    /**
     * Reads the socket address at {@code sockaddr} of {@code length} bytes into this key.
     *
     * @param sockaddr a C socket address
     * @param length   its length, as the kernel reported it
     * @return false (and this key is left undefined) when the family is unknown or the length too short
     */
    public boolean readFrom(MemorySegment sockaddr, int length) {
        return readFrom(sockaddr, 0, length);
    }

    /**
     * {@link #readFrom(MemorySegment, int)} for an address at {@code at} in {@code base}, without slicing.
     *
     * @param base   the segment holding the address
     * @param at     the address's offset in {@code base}
     * @param length its length, as the kernel reported it
     * @return false (and this key is left undefined) when the family is unknown or the length too short
     */
    public boolean readFrom(MemorySegment base, long at, int length) {
        MemorySegment sockaddr = base;
        if (length < 2) {
            return false;
        }
        int f = sockaddr.get(JAVA_SHORT, at + SockAddr.FAMILY);
        switch (f) {
            case Net.AF_INET -> {
                if (length < SockAddr.IN_SIZE) {
                    return false;
                }
                port = Short.toUnsignedInt(sockaddr.get(SockAddr.NET_SHORT, at + SockAddr.IN_PORT));
                hi = 0;
                lo = Integer.toUnsignedLong(sockaddr.get(SockAddr.NET_INT, at + SockAddr.IN_ADDR));
                scopeId = 0;
            }
            case Net.AF_INET6 -> {
                if (length < SockAddr.IN6_SIZE) {
                    return false;
                }
                port = Short.toUnsignedInt(sockaddr.get(SockAddr.NET_SHORT, at + SockAddr.IN6_PORT));
                hi = sockaddr.get(SockAddr.NET_LONG, at + SockAddr.IN6_ADDR);
                lo = sockaddr.get(SockAddr.NET_LONG, at + SockAddr.IN6_ADDR + 8);
                scopeId = sockaddr.get(JAVA_INT, at + SockAddr.IN6_SCOPE_ID);
            }
            case Net.AF_UNIX -> {
                int n = Math.max(0, Math.min(length - (int) SockAddr.UN_PATH, SockAddr.UNIX_PATH_CAPACITY));
                if (path == null) {
                    path = new byte[SockAddr.UNIX_PATH_CAPACITY];
                }
                MemorySegment.copy(sockaddr, JAVA_BYTE, at + SockAddr.UN_PATH, path, 0, n);
                pathLength = n;
                port = 0;
                hi = 0;
                lo = 0;
                scopeId = 0;
            }
            default -> {
                return false;
            }
        }
        family = f;
        return true;
    }

    /**
     * Sets this key to the IPv4 peer {@code address}:{@code port}, or, with {@code asMapped}, to
     * the same peer as an IPv6 socket keys it ({@code ::ffff:a.b.c.d}). Allocates nothing.
     *
     * @param address  the IPv4 address as a number (a.b.c.d is a &lt;&lt; 24 | b &lt;&lt; 16 | c &lt;&lt; 8 | d)
     * @param port     the port
     * @param asMapped key it as a v4-mapped IPv6 address
     * @return this key
     */
    public PeerKey setInet4(int address, int port, boolean asMapped) {
        this.family = asMapped ? Net.AF_INET6 : Net.AF_INET;
        this.port = port;
        this.scopeId = 0;
        this.hi = 0;
        this.lo = (asMapped ? 0x0000_FFFF_0000_0000L : 0) | Integer.toUnsignedLong(address);
        return this;
    }

    /**
     * Sets this key to the IPv6 peer whose address is {@code hi}:{@code lo} (its 16 bytes in
     * network order, read as two numbers). Allocates nothing.
     *
     * @param hi      the address's first 8 bytes
     * @param lo      its last 8 bytes
     * @param scopeId the scope id (0 for none)
     * @param port    the port
     * @return this key
     */
    public PeerKey setInet6(long hi, long lo, int scopeId, int port) {
        this.family = Net.AF_INET6;
        this.port = port;
        this.scopeId = scopeId;
        this.hi = hi;
        this.lo = lo;
        return this;
    }

    /**
     * Sets this key from a Java socket address (cold path).
     *
     * @param address an IP or AF_UNIX socket address
     * @return this key
     * @throws IllegalArgumentException an address that cannot be keyed
     */
    public PeerKey set(SocketAddress address) {
        MemorySegment tmp = MemorySegment.ofArray(new long[SockAddr.STORAGE_SIZE / 8]); // 8-aligned
        int len = SockAddr.write(address, tmp);
        if (!readFrom(tmp, len)) {
            throw new IllegalArgumentException("cannot key " + address);
        }
        return this;
    }

    /**
     * Writes this peer as a C socket address into {@code dst} (at least {@link SockAddr#STORAGE_SIZE}
     * bytes). Allocates nothing.
     *
     * @param dst where to write
     * @return the address's length ({@code socklen_t})
     */
    public int writeTo(MemorySegment dst) {
        return writeTo(dst, 0);
    }

    /** {@return how many bytes {@link #writeTo(MemorySegment)} writes for this peer} */
    public int encodedLength() {
        return switch (family) {
            case Net.AF_INET -> SockAddr.IN_SIZE;
            case Net.AF_INET6 -> SockAddr.IN6_SIZE;
            case Net.AF_UNIX -> (int) SockAddr.UN_PATH + pathLength;
            default -> throw new IllegalStateException("empty PeerKey");
        };
    }

    /**
     * {@link #writeTo(MemorySegment)} at {@code at} in {@code base}, without slicing.
     *
     * @param base the segment to write into
     * @param at   the offset in {@code base}
     * @return the address's length ({@code socklen_t})
     */
    public int writeTo(MemorySegment base, long at) {
        MemorySegment dst = base;
        switch (family) {
            case Net.AF_INET -> {
                dst.set(JAVA_SHORT, at + SockAddr.FAMILY, (short) Net.AF_INET);
                dst.set(SockAddr.NET_SHORT, at + SockAddr.IN_PORT, (short) port);
                dst.set(SockAddr.NET_INT, at + SockAddr.IN_ADDR, (int) lo);
                dst.set(JAVA_LONG_UNALIGNED, at + 8, 0L); // sin_zero
                return SockAddr.IN_SIZE;
            }
            case Net.AF_INET6 -> {
                dst.set(JAVA_SHORT, at + SockAddr.FAMILY, (short) Net.AF_INET6);
                dst.set(SockAddr.NET_SHORT, at + SockAddr.IN6_PORT, (short) port);
                dst.set(JAVA_INT, at + SockAddr.IN6_FLOWINFO, 0);
                dst.set(SockAddr.NET_LONG, at + SockAddr.IN6_ADDR, hi);
                dst.set(SockAddr.NET_LONG, at + SockAddr.IN6_ADDR + 8, lo);
                dst.set(JAVA_INT, at + SockAddr.IN6_SCOPE_ID, scopeId);
                return SockAddr.IN6_SIZE;
            }
            case Net.AF_UNIX -> {
                dst.set(JAVA_SHORT, at + SockAddr.FAMILY, (short) Net.AF_UNIX);
                MemorySegment.copy(path, 0, dst, JAVA_BYTE, at + SockAddr.UN_PATH, pathLength);
                return (int) SockAddr.UN_PATH + pathLength;
            }
            default -> throw new IllegalStateException("empty PeerKey");
        }
    }

    /**
     * For an IPv4 peer, the same peer as a dual-stack (IPv6, not v6-only) socket reports it:
     * {@code ::ffff:a.b.c.d}. Allocates (cold path: lookups by address).
     *
     * @return the IPv4-mapped IPv6 key, or null for other families
     */
    public PeerKey v4Mapped() {
        if (family != Net.AF_INET) {
            return null;
        }
        PeerKey k = new PeerKey();
        k.family = Net.AF_INET6;
        k.port = port;
        k.hi = 0;
        k.lo = 0x0000_FFFF_0000_0000L | (lo & 0xFFFF_FFFFL);
        return k;
    }

    /**
     * {@return true for an IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}): an IPv4 peer of a
     * dual-stack socket, which the kernel's IPv4 stack serves}
     */
    public boolean isV4Mapped() {
        return family == Net.AF_INET6 && hi == 0 && (lo >>> 32) == 0xFFFFL;
    }

    /** {@return the peer as a Java socket address (allocates; for new sessions and logs)} */
    public SocketAddress toSocketAddress() {
        MemorySegment tmp = MemorySegment.ofArray(new long[SockAddr.STORAGE_SIZE / 8]);
        return SockAddr.read(tmp, writeTo(tmp));
    }

    /**
     * The IP address of an AF_INET/AF_INET6 peer (allocates).
     *
     * @return the address
     * @throws IllegalStateException for an AF_UNIX peer
     */
    public InetAddress inetAddress() {
        try {
            return switch (family) {
                case Net.AF_INET -> InetAddress.getByAddress(new byte[]{
                        (byte) (lo >>> 24), (byte) (lo >>> 16), (byte) (lo >>> 8), (byte) lo});
                case Net.AF_INET6 -> ((InetSocketAddress) toSocketAddress()).getAddress();
                default -> throw new IllegalStateException("not an IP peer: family " + family);
            };
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@return the address family: {@link Net#AF_INET}, {@link Net#AF_INET6} or {@link Net#AF_UNIX}} */
    public int family() {
        return family;
    }

    /** {@return the high 64 bits of an IPv6 address (network order as a number); 0 for IPv4} */
    public long hi() {
        return hi;
    }

    /** {@return the low 64 bits of an IPv6 address, or an IPv4 address in the low 32 bits} */
    public long lo() {
        return lo;
    }

    /** {@return the IPv6 scope id; 0 otherwise} */
    public int scopeId() {
        return scopeId;
    }

    /** {@return the port of an IP peer; 0 for AF_UNIX} */
    public int port() {
        return port;
    }

    /** {@return an independent copy, for a table to keep} */
    public PeerKey copy() {
        PeerKey k = new PeerKey();
        k.copyFrom(this);
        return k;
    }

    /**
     * Makes this key equal to {@code other}, reusing this key's storage.
     *
     * @param other the key to copy
     */
    public void copyFrom(PeerKey other) {
        family = other.family;
        port = other.port;
        scopeId = other.scopeId;
        hi = other.hi;
        lo = other.lo;
        pathLength = other.pathLength;
        if (other.path != null) {
            if (path == null) {
                path = new byte[SockAddr.UNIX_PATH_CAPACITY];
            }
            System.arraycopy(other.path, 0, path, 0, other.pathLength);
        }
    }

    @Override
    public int hashCode() {
        long h = hi * 0x9E3779B97F4A7C15L ^ lo * 0xC2B2AE3D27D4EB4FL ^ ((long) port << 16 | family) * 0x165667B19E3779F9L
                ^ scopeId;
        if (family == Net.AF_UNIX) {
            for (int i = 0; i < pathLength; i++) {
                h = h * 31 + path[i];
            }
        }
        h ^= h >>> 29;
        return (int) (h ^ h >>> 32);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PeerKey k && k.family == family && k.port == port && k.hi == hi && k.lo == lo
                && k.scopeId == scopeId && (family != Net.AF_UNIX
                || Arrays.equals(path, 0, pathLength, k.path, 0, k.pathLength));
    }

    @Override
    public String toString() {
        return family == 0 ? "PeerKey[empty]" : toSocketAddress().toString();
    }
}
