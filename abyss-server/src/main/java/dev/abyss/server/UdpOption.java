package dev.abyss.server;

import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * A typed socket option of the server's sockets, the counterpart of {@code :gen_udp}'s open options:
 * set before the sockets bind ({@link ServerConfig.Builder#socketOption}) or on the live sockets of
 * a running server ({@link Server#setOption}, read with {@link Server#option}), applied to every
 * acceptor's socket. An IPv6 socket gets the IPv6 form of an option and, for the IPv4 peers of a
 * dual-stack socket, the IPv4 one too (best effort).
 *
 * <p>Every option applies on EPOLL and IO_URING. On NIO, those the JDK's {@code DatagramChannel} has
 * ({@link #BROADCAST}, {@link #MULTICAST_TTL}, {@link #MULTICAST_LOOP}, {@link #MULTICAST_INTERFACE},
 * {@link #TRAFFIC_CLASS}; see {@link #onNio()}) go through its standard options; the rest are refused
 * with a message naming the option and NIO.
 *
 * <p>Options marked {@link #changeableAfterBind()} false ({@link #BIND_TO_DEVICE}, {@link #FREEBIND})
 * decide how the socket binds: {@link Server#setOption} refuses them.
 *
 * @param <T> the type of the option's value
 */
public final class UdpOption<T> {
    /** {@code SO_BROADCAST}: may send to a broadcast address (and, on Linux, nothing else changes: any UDP socket receives broadcasts to its port). */
    public static final UdpOption<Boolean> BROADCAST = new UdpOption<>("BROADCAST", Boolean.class, true, true, UdpOption::bool);
    /** {@code SO_DONTROUTE}: send only to hosts on a directly attached network, bypassing routing. */
    public static final UdpOption<Boolean> DONTROUTE = new UdpOption<>("DONTROUTE", Boolean.class, true, false, UdpOption::bool);
    /** {@code IP_TTL} / {@code IPV6_UNICAST_HOPS}: the TTL (hop limit) of unicast sends, 1..255. */
    public static final UdpOption<Integer> TTL = new UdpOption<>("TTL", Integer.class, true, false, v -> range(v, 1, 255));
    /** {@code IP_MULTICAST_TTL} / {@code IPV6_MULTICAST_HOPS}: the TTL of multicast sends, 0..255 (kernel default 1: the local network). */
    public static final UdpOption<Integer> MULTICAST_TTL = new UdpOption<>("MULTICAST_TTL", Integer.class, true, true, v -> range(v, 0, 255));
    /** {@code IP_MULTICAST_LOOP} / {@code IPV6_MULTICAST_LOOP}: multicast sends loop back to this host's members (kernel default true). */
    public static final UdpOption<Boolean> MULTICAST_LOOP = new UdpOption<>("MULTICAST_LOOP", Boolean.class, true, true, UdpOption::bool);
    /**
     * {@code IP_MULTICAST_IF} / {@code IPV6_MULTICAST_IF}: the interface multicast sends leave by, by
     * name, as the socket's network namespace knows it (an unknown name is refused, naming it).
     */
    public static final UdpOption<String> MULTICAST_INTERFACE = new UdpOption<>("MULTICAST_INTERFACE", String.class, true, true, UdpOption::interfaceName);
    /** {@code IP_TOS} / {@code IPV6_TCLASS}: the TOS / traffic class byte of sends (DSCP and ECN), 0..255. */
    public static final UdpOption<Integer> TRAFFIC_CLASS = new UdpOption<>("TRAFFIC_CLASS", Integer.class, true, true, v -> range(v, 0, 255));
    /** {@code IP_MTU_DISCOVER} / {@code IPV6_MTU_DISCOVER}: the path-MTU policy; see {@link PathMtuDiscovery} for why DNS servers choose OMIT. */
    public static final UdpOption<PathMtuDiscovery> MTU_DISCOVER = new UdpOption<>("MTU_DISCOVER", PathMtuDiscovery.class, true, false,
            v -> (PathMtuDiscovery) v);
    /**
     * {@code IP_RECVTTL} / {@code IPV6_RECVHOPLIMIT}: each datagram's TTL (hop limit) as it arrived,
     * in {@link DatagramInfo#ttl()}: for GTSM-style checks (RFC 5082: a peer one hop away sends with
     * 255 and arrives with 255). Off by default; off, it costs nothing.
     */
    public static final UdpOption<Boolean> RECEIVE_TTL = new UdpOption<>("RECEIVE_TTL", Boolean.class, true, false, UdpOption::bool);
    /**
     * {@code SO_BINDTODEVICE}: receive only what arrives on this interface and send only through it
     * (a VRF's device too), by name. Bind time only. Needs CAP_NET_RAW before Linux 5.7.
     */
    public static final UdpOption<String> BIND_TO_DEVICE = new UdpOption<>("BIND_TO_DEVICE", String.class, false, false, UdpOption::interfaceName);
    /**
     * {@code IP_FREEBIND} / {@code IPV6_FREEBIND}: bind to an address this host does not have (yet):
     * a virtual IP that keepalived brings up later; datagrams arrive once the address is added.
     * Bind time only.
     */
    public static final UdpOption<Boolean> FREEBIND = new UdpOption<>("FREEBIND", Boolean.class, false, false, UdpOption::bool);
    /** {@code SO_PRIORITY}: the queueing priority of sends (0..6; above needs CAP_NET_ADMIN). */
    public static final UdpOption<Integer> PRIORITY = new UdpOption<>("PRIORITY", Integer.class, true, false, v -> range(v, 0, Integer.MAX_VALUE));
    /** {@code SO_MARK}: the firewall mark of sends, for policy routing ({@code ip rule fwmark}); needs CAP_NET_ADMIN. Any 32-bit value. */
    public static final UdpOption<Integer> MARK = new UdpOption<>("MARK", Integer.class, true, false, v -> (Integer) v);

    /** Every named option, in the order the docs list them. */
    public static final List<UdpOption<?>> ALL = List.of(BROADCAST, DONTROUTE, TTL, MULTICAST_TTL, MULTICAST_LOOP,
            MULTICAST_INTERFACE, TRAFFIC_CLASS, MTU_DISCOVER, RECEIVE_TTL, BIND_TO_DEVICE, FREEBIND, PRIORITY, MARK);

    /** Most bytes of a {@link #raw} option's value. */
    public static final int MAX_RAW_BYTES = 1024;

    private final String name;
    private final Class<T> type;
    private final boolean changeableAfterBind;
    private final boolean onNio;
    private final Function<Object, T> check;
    private final int rawLevel;
    private final int rawName;

    private UdpOption(String name, Class<T> type, boolean changeableAfterBind, boolean onNio, Function<Object, T> check) {
        this(name, type, changeableAfterBind, onNio, check, -1, -1);
    }

    private UdpOption(String name, Class<T> type, boolean changeableAfterBind, boolean onNio, Function<Object, T> check,
                      int rawLevel, int rawName) {
        this.name = name;
        this.type = type;
        this.changeableAfterBind = changeableAfterBind;
        this.onNio = onNio;
        this.check = check;
        this.rawLevel = rawLevel;
        this.rawName = rawName;
    }

    /**
     * Any option the kernel has, as {@code {raw, Level, Option, Value}} does: the value is the bytes
     * {@code setsockopt(level, name)} takes (an {@code int} in host byte order, little-endian on
     * x86-64 and aarch64: see {@link #intBytes}). Set as is, at bind time or at run time, on EPOLL
     * and IO_URING; read back with {@code getsockopt} (up to {@value #MAX_RAW_BYTES} bytes).
     *
     * @param level e.g. 1 ({@code SOL_SOCKET}), 0 ({@code SOL_IP}), 41 ({@code SOL_IPV6}), 17 ({@code SOL_UDP})
     * @param name  the option's number at that level
     * @return the option
     * @throws IllegalArgumentException when {@code level} or {@code name} is negative
     */
    public static UdpOption<byte[]> raw(int level, int name) {
        if (level < 0 || name < 0) {
            throw new IllegalArgumentException("socketOption raw(" + level + ", " + name + "): level and name must be >= 0");
        }
        return new UdpOption<>("raw(" + level + "," + name + ")", byte[].class, true, false, UdpOption::rawBytes, level, name);
    }

    /**
     * {@return an {@code int} option value as the bytes a {@link #raw} option takes (host byte order)}
     *
     * @param value the value
     */
    public static byte[] intBytes(int value) {
        return java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.nativeOrder()).putInt(value).array();
    }

    /** {@return the option's name: {@code TTL}, {@code BROADCAST}, ..., or {@code raw(level,name)}} */
    public String name() {
        return name;
    }

    /** {@return the type of its value} */
    public Class<T> type() {
        return type;
    }

    /** {@return whether a running server may change it ({@link Server#setOption}); false for options that decide the bind} */
    public boolean changeableAfterBind() {
        return changeableAfterBind;
    }

    /** {@return whether the NIO transport has it (the JDK's DatagramChannel offers it)} */
    public boolean onNio() {
        return onNio;
    }

    /** {@return the level of a {@link #raw} option, -1 for a named one} */
    public int rawLevel() {
        return rawLevel;
    }

    /** {@return the option number of a {@link #raw} option, -1 for a named one} */
    public int rawName() {
        return rawName;
    }

    /**
     * Checks {@code value} for this option.
     *
     * @param value a value
     * @return it, as this option's type (a copy for a raw option's bytes)
     * @throws IllegalArgumentException naming the option and the value when it is out of range or of the wrong type
     */
    public T check(Object value) {
        Objects.requireNonNull(value, () -> "socketOption " + name + ": null value");
        if (!type.isInstance(value)) {
            throw new IllegalArgumentException("socketOption " + name + ": " + describe(value) + " is a "
                    + value.getClass().getSimpleName() + ", not a " + type.getSimpleName());
        }
        try {
            return check.apply(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("socketOption " + name + " " + describe(value) + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@return {@code value} as text for messages and logs: hex for bytes}
     *
     * @param value an option's value
     */
    public static String describe(Object value) {
        return value instanceof byte[] b ? "0x" + HexFormat.of().formatHex(b) : String.valueOf(value);
    }

    // identity: the named ones are singletons; raw options are equal by level and name
    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof UdpOption<?> u && rawLevel >= 0 && u.rawLevel == rawLevel && u.rawName == rawName;
    }

    @Override
    public int hashCode() {
        return rawLevel >= 0 ? 31 * rawLevel + rawName : System.identityHashCode(this);
    }

    @Override
    public String toString() {
        return name;
    }

    private static Boolean bool(Object v) {
        return (Boolean) v;
    }

    private static Integer range(Object v, int min, int max) {
        int i = (Integer) v;
        if (i < min || i > max) {
            throw new IllegalArgumentException(i + " is out of range " + min + ".." + max);
        }
        return i;
    }

    private static String interfaceName(Object v) {
        String s = (String) v;
        int bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > 15 || s.indexOf('\0') >= 0 || s.indexOf('/') >= 0 || s.isBlank()) {
            throw new IllegalArgumentException("'" + s + "' is not an interface name (1..15 bytes, no '/')");
        }
        return s;
    }

    private static byte[] rawBytes(Object v) {
        byte[] b = (byte[]) v;
        if (b.length > MAX_RAW_BYTES) {
            throw new IllegalArgumentException(b.length + " bytes is more than " + MAX_RAW_BYTES);
        }
        return b.clone();
    }
}
