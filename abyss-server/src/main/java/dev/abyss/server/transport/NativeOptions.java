package dev.abyss.server.transport;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Interfaces;
import dev.abyss.ffi.net.Membership;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.server.MulticastGroup;
import dev.abyss.server.PathMtuDiscovery;
import dev.abyss.server.UdpOption;

import java.io.IOException;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;

/**
 * The {@link UdpOption}s as {@code setsockopt} / {@code getsockopt} calls on a native socket: the one
 * place that maps each option to its level and number. An IPv6 socket gets the IPv6 option and, for
 * the IPv4 peers of a dual-stack socket, the IPv4 one as well (best effort: a v6-only socket may
 * refuse it).
 */
final class NativeOptions {
    private NativeOptions() {
    }

    /** Sets {@code option} on {@code fd}, a socket of {@code family}; errors name the option and the value. */
    static void set(int fd, boolean inet6, UdpOption<?> option, Object value) throws IOException {
        try {
            apply(fd, inet6, option, value);
        } catch (NativeException e) {
            String what = "socketOption " + option.name() + " " + UdpOption.describe(value);
            if (e.errno() == Errno.EINVAL || e.errno() == Errno.ENODEV) {
                throw new IllegalArgumentException(what + ": the kernel refused it: " + e.getMessage(), e);
            }
            NativeException named = new NativeException(what + ": " + e.call(), e.errno()); // an IOException, errno kept
            named.initCause(e);
            throw named;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("socketOption " + option.name() + " " + UdpOption.describe(value) + ": "
                    + e.getMessage(), e);
        }
    }

    private static void apply(int fd, boolean inet6, UdpOption<?> option, Object value) throws NativeException {
        if (option.rawLevel() >= 0) {
            Sockets.setBytes(fd, option.rawLevel(), option.rawName(), (byte[]) value, option.name());
            return;
        }
        switch (option.name()) {
            case "BROADCAST" -> Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_BROADCAST, bit(value), "SO_BROADCAST");
            case "DONTROUTE" -> Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_DONTROUTE, bit(value), "SO_DONTROUTE");
            case "PRIORITY" -> Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_PRIORITY, (Integer) value, "SO_PRIORITY");
            case "MARK" -> Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_MARK, (Integer) value, "SO_MARK");
            case "BIND_TO_DEVICE" -> Sockets.setBytes(fd, Net.SOL_SOCKET, Net.SO_BINDTODEVICE,
                    Interfaces.checkName((String) value), "SO_BINDTODEVICE " + value);
            case "TTL" -> pair(fd, inet6, Net.IP_TTL, Net.IPV6_UNICAST_HOPS, (Integer) value, "IP_TTL", "IPV6_UNICAST_HOPS");
            case "MULTICAST_TTL" -> pair(fd, inet6, Net.IP_MULTICAST_TTL, Net.IPV6_MULTICAST_HOPS, (Integer) value,
                    "IP_MULTICAST_TTL", "IPV6_MULTICAST_HOPS");
            case "MULTICAST_LOOP" -> pair(fd, inet6, Net.IP_MULTICAST_LOOP, Net.IPV6_MULTICAST_LOOP, bit(value),
                    "IP_MULTICAST_LOOP", "IPV6_MULTICAST_LOOP");
            case "TRAFFIC_CLASS" -> pair(fd, inet6, Net.IP_TOS, Net.IPV6_TCLASS, (Integer) value, "IP_TOS", "IPV6_TCLASS");
            case "MTU_DISCOVER" -> pair(fd, inet6, Net.IP_MTU_DISCOVER, Net.IPV6_MTU_DISCOVER,
                    ((PathMtuDiscovery) value).value(), "IP_MTU_DISCOVER", "IPV6_MTU_DISCOVER");
            case "RECEIVE_TTL" -> pair(fd, inet6, Net.IP_RECVTTL, Net.IPV6_RECVHOPLIMIT, bit(value), "IP_RECVTTL", "IPV6_RECVHOPLIMIT");
            case "FREEBIND" -> pair(fd, inet6, Net.IP_FREEBIND, Net.IPV6_FREEBIND, bit(value), "IP_FREEBIND", "IPV6_FREEBIND");
            case "MULTICAST_INTERFACE" -> {
                int index = Interfaces.index(fd, (String) value);
                if (inet6) {
                    Sockets.setInt(fd, Net.SOL_IPV6, Net.IPV6_MULTICAST_IF, index, "IPV6_MULTICAST_IF " + value);
                    try {
                        Membership.setInet4Interface(fd, index);
                    } catch (NativeException e) {
                        // a v6-only socket has no IPv4 sends
                    }
                } else {
                    Membership.setInet4Interface(fd, index);
                }
            }
            default -> throw new IllegalStateException("no native mapping for socketOption " + option.name());
        }
    }

    /** The IPv4 option on an IPv4 socket; on an IPv6 one the IPv6 option, then the IPv4 one for its mapped peers. */
    private static void pair(int fd, boolean inet6, int v4, int v6, int value, String v4Name, String v6Name) throws NativeException {
        if (!inet6) {
            Sockets.setInt(fd, Net.SOL_IP, v4, value, v4Name);
            return;
        }
        Sockets.setInt(fd, Net.SOL_IPV6, v6, value, v6Name);
        try {
            Sockets.setInt(fd, Net.SOL_IP, v4, value, v4Name);
        } catch (NativeException e) {
            // v6-only, or the IPv4 form is not there: the IPv6 one is what counts
        }
    }

    /** Reads {@code option} from {@code fd}; {@code multicastInterface} is what was last set (the kernel keeps an index or an address). */
    static Object get(int fd, boolean inet6, UdpOption<?> option, String multicastInterface) throws IOException {
        try {
            if (option.rawLevel() >= 0) {
                return Sockets.getBytes(fd, option.rawLevel(), option.rawName(), UdpOption.MAX_RAW_BYTES, option.name());
            }
            return switch (option.name()) {
                case "BROADCAST" -> Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_BROADCAST, "SO_BROADCAST") != 0;
                case "DONTROUTE" -> Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_DONTROUTE, "SO_DONTROUTE") != 0;
                case "PRIORITY" -> Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_PRIORITY, "SO_PRIORITY");
                case "MARK" -> Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_MARK, "SO_MARK");
                case "BIND_TO_DEVICE" -> {
                    byte[] b = Sockets.getBytes(fd, Net.SOL_SOCKET, Net.SO_BINDTODEVICE, Net.IFNAMSIZ, "SO_BINDTODEVICE");
                    int n = 0;
                    while (n < b.length && b[n] != 0) {
                        n++;
                    }
                    yield new String(b, 0, n, StandardCharsets.UTF_8);
                }
                case "TTL" -> read(fd, inet6, Net.IP_TTL, Net.IPV6_UNICAST_HOPS, "TTL");
                case "MULTICAST_TTL" -> read(fd, inet6, Net.IP_MULTICAST_TTL, Net.IPV6_MULTICAST_HOPS, "MULTICAST_TTL");
                case "MULTICAST_LOOP" -> read(fd, inet6, Net.IP_MULTICAST_LOOP, Net.IPV6_MULTICAST_LOOP, "MULTICAST_LOOP") != 0;
                case "TRAFFIC_CLASS" -> read(fd, inet6, Net.IP_TOS, Net.IPV6_TCLASS, "TRAFFIC_CLASS");
                case "MTU_DISCOVER" -> PathMtuDiscovery.of(read(fd, inet6, Net.IP_MTU_DISCOVER, Net.IPV6_MTU_DISCOVER, "MTU_DISCOVER"));
                case "RECEIVE_TTL" -> read(fd, inet6, Net.IP_RECVTTL, Net.IPV6_RECVHOPLIMIT, "RECEIVE_TTL") != 0;
                case "FREEBIND" -> read(fd, inet6, Net.IP_FREEBIND, Net.IPV6_FREEBIND, "FREEBIND") != 0;
                case "MULTICAST_INTERFACE" -> multicastInterface;
                default -> throw new IllegalStateException("no native mapping for socketOption " + option.name());
            };
        } catch (NativeException e) {
            throw new IOException("socketOption " + option.name() + ": " + e.getMessage(), e);
        }
    }

    private static int read(int fd, boolean inet6, int v4, int v6, String name) throws NativeException {
        return inet6 ? Sockets.getInt(fd, Net.SOL_IPV6, v6, name) : Sockets.getInt(fd, Net.SOL_IP, v4, name);
    }

    /** Joins or leaves {@code g} on {@code fd}; errors name the group and say why. */
    static void membership(int fd, boolean inet6, MulticastGroup g, boolean join) throws IOException {
        String what = (join ? "joinGroup " : "leaveGroup ") + g;
        if (!inet6 && !(g.group() instanceof Inet4Address)) {
            throw new IllegalArgumentException(what + ": an IPv4 socket cannot join an IPv6 group");
        }
        int index;
        try {
            index = g.interfaceName() == null ? 0 : Interfaces.index(fd, g.interfaceName());
        } catch (NativeException e) {
            NativeException named = new NativeException(what + ": " + e.call(), e.errno());
            named.initCause(e);
            throw named;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
        try {
            Membership.change(fd, join, g.group(), index, g.source());
        } catch (NativeException e) {
            if (join && e.errno() == Errno.EADDRINUSE) {
                throw new IllegalStateException(what + ": joined already (EADDRINUSE)", e);
            }
            if (!join && e.errno() == Errno.EADDRNOTAVAIL) {
                throw new IllegalStateException(what + ": not joined (EADDRNOTAVAIL)", e);
            }
            if (e.errno() == Errno.ENODEV || e.errno() == Errno.EINVAL) {
                throw new IllegalArgumentException(what + ": the kernel refused it: " + e.getMessage(), e);
            }
            NativeException named = new NativeException(what + ": " + e.call(), e.errno());
            named.initCause(e);
            throw named;
        }
    }

    private static int bit(Object value) {
        return (Boolean) value ? 1 : 0;
    }
}
