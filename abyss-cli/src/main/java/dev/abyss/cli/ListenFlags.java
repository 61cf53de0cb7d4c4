package dev.abyss.cli;

import dev.abyss.server.MulticastGroup;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.UdpOption;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The socket options of the reference's {@code transport_options} as flags: multicast groups,
 * broadcast, TTLs, the device, FREEBIND, the network namespace, and any other option raw. Each is
 * applied to the builder by {@link #apply}; a bad value fails naming the flag and the value.
 */
final class ListenFlags {
    @Option(names = "--join", paramLabel = "GROUP[@IF][/SOURCE]",
            description = "join a multicast group on every acceptor's socket (repeatable): 239.1.2.3, 239.1.2.3@eth0, ff15::1:2:3@eth0/fd00::1 (one source only); bind 0.0.0.0 or :: on the group's port")
    List<String> join = new ArrayList<>();

    @Option(names = "--multicast-interface", paramLabel = "IF", description = "interface multicast sends leave by (IP_MULTICAST_IF / IPV6_MULTICAST_IF)")
    String multicastInterface;

    @Option(names = "--multicast-ttl", paramLabel = "N", description = "TTL / hop limit of multicast sends, 0..255 (kernel default: 1)")
    Integer multicastTtl;

    @Option(names = "--multicast-loop", negatable = true, description = "multicast sends loop back to this host's members (kernel default: on)")
    Boolean multicastLoop;

    @Option(names = "--broadcast", description = "allow sending to broadcast addresses (SO_BROADCAST)")
    boolean broadcast;

    @Option(names = "--ttl", paramLabel = "N", description = "TTL / hop limit of unicast sends, 1..255 (IP_TTL / IPV6_UNICAST_HOPS)")
    Integer ttl;

    @Option(names = "--tos", paramLabel = "N", description = "TOS / traffic class byte of sends, 0..255 (IP_TOS / IPV6_TCLASS)")
    Integer tos;

    @Option(names = "--mtu-discover", paramLabel = "POLICY", description = "path-MTU policy: ${COMPLETION-CANDIDATES} (kernel default: want; DNS servers use omit)")
    dev.abyss.server.PathMtuDiscovery mtuDiscover;

    @Option(names = "--recv-ttl", description = "read each datagram's TTL / hop limit (IP_RECVTTL / IPV6_RECVHOPLIMIT)")
    boolean receiveTtl;

    @Option(names = "--bind-device", paramLabel = "IF", description = "receive and send through this interface only (SO_BINDTODEVICE)")
    String bindDevice;

    @Option(names = "--freebind", description = "bind the address even if this host does not have it yet (IP_FREEBIND): a VIP that comes up later")
    boolean freebind;

    @Option(names = "--priority", paramLabel = "N", description = "SO_PRIORITY of sends (0..6 without CAP_NET_ADMIN)")
    Integer priority;

    @Option(names = "--mark", paramLabel = "N", description = "SO_MARK of sends, for policy routing (CAP_NET_ADMIN)")
    Long mark;

    @Option(names = "--netns", paramLabel = "NAME", description = "open the sockets inside this network namespace (/run/netns/NAME, or a path); the process stays in its own")
    String netns;

    @Option(names = "--socket-option", paramLabel = "LEVEL:NAME=VALUE",
            description = "any other option, raw (repeatable): LEVEL socket|ip|ipv6|udp or a number, NAME so_rcvbuf, ip_tos, ... or a number, VALUE a decimal int or hex bytes 0x...: --socket-option socket:so_priority=3")
    List<String> socketOptions = new ArrayList<>();

    private static final Map<String, Integer> LEVELS = Map.of("socket", 1, "sol_socket", 1, "ip", 0, "sol_ip", 0,
            "ipv6", 41, "sol_ipv6", 41, "udp", 17, "sol_udp", 17);
    private static final Map<String, Integer> NAMES = Map.ofEntries(
            Map.entry("so_dontroute", 5), Map.entry("so_broadcast", 6), Map.entry("so_sndbuf", 7), Map.entry("so_rcvbuf", 8),
            Map.entry("so_keepalive", 9), Map.entry("so_priority", 12), Map.entry("so_rcvlowat", 18), Map.entry("so_mark", 36),
            Map.entry("so_busy_poll", 46), Map.entry("so_incoming_cpu", 49),
            Map.entry("ip_tos", 1), Map.entry("ip_ttl", 2), Map.entry("ip_mtu_discover", 10), Map.entry("ip_recvttl", 12),
            Map.entry("ip_freebind", 15), Map.entry("ip_transparent", 19), Map.entry("ip_multicast_ttl", 33),
            Map.entry("ip_multicast_loop", 34), Map.entry("ip_multicast_all", 49), Map.entry("ip_bind_address_no_port", 24),
            Map.entry("ipv6_unicast_hops", 16), Map.entry("ipv6_multicast_hops", 18), Map.entry("ipv6_multicast_loop", 19),
            Map.entry("ipv6_mtu_discover", 23), Map.entry("ipv6_v6only", 26), Map.entry("ipv6_tclass", 67),
            Map.entry("ipv6_recvhoplimit", 51), Map.entry("ipv6_freebind", 78),
            Map.entry("udp_cork", 1), Map.entry("udp_segment", 103), Map.entry("udp_gro", 104));

    /** Sets every flag given on {@code b}; {@code fail} turns a refusal into the CLI's error for {@code flag}. */
    void apply(ServerConfig.Builder b, Failure fail) {
        for (String j : join) {
            fail.option("--join", j, () -> b.joinGroup(MulticastGroup.parse(j)));
        }
        set(b, fail, "--multicast-interface", UdpOption.MULTICAST_INTERFACE, multicastInterface);
        set(b, fail, "--multicast-ttl", UdpOption.MULTICAST_TTL, multicastTtl);
        set(b, fail, "--multicast-loop", UdpOption.MULTICAST_LOOP, multicastLoop);
        set(b, fail, "--broadcast", UdpOption.BROADCAST, broadcast ? Boolean.TRUE : null);
        set(b, fail, "--ttl", UdpOption.TTL, ttl);
        set(b, fail, "--tos", UdpOption.TRAFFIC_CLASS, tos);
        set(b, fail, "--mtu-discover", UdpOption.MTU_DISCOVER, mtuDiscover);
        set(b, fail, "--recv-ttl", UdpOption.RECEIVE_TTL, receiveTtl ? Boolean.TRUE : null);
        set(b, fail, "--bind-device", UdpOption.BIND_TO_DEVICE, bindDevice);
        set(b, fail, "--freebind", UdpOption.FREEBIND, freebind ? Boolean.TRUE : null);
        set(b, fail, "--priority", UdpOption.PRIORITY, priority);
        if (mark != null) {
            fail.option("--mark", String.valueOf(mark), () -> {
                if (mark < Integer.MIN_VALUE || mark > 0xFFFF_FFFFL) {
                    throw new IllegalArgumentException("MARK " + mark + " is not a 32-bit value");
                }
                b.socketOption(UdpOption.MARK, (int) (long) mark);
            });
        }
        if (netns != null) {
            fail.option("--netns", netns, () -> b.netns(netns));
        }
        for (String raw : socketOptions) {
            fail.option("--socket-option", raw, () -> {
                Raw r = parseRaw(raw);
                b.socketOption(UdpOption.raw(r.level(), r.name()), r.value());
            });
        }
    }

    private static <T> void set(ServerConfig.Builder b, Failure fail, String flag, UdpOption<T> option, T value) {
        if (value != null) {
            fail.option(flag, String.valueOf(value), () -> b.socketOption(option, value));
        }
    }

    /** A raw option from {@code LEVEL:NAME=VALUE}. */
    record Raw(int level, int name, byte[] value) {
    }

    static Raw parseRaw(String text) {
        int colon = text.indexOf(':');
        int eq = text.indexOf('=');
        if (colon <= 0 || eq < colon + 2 || eq == text.length() - 1) {
            throw new IllegalArgumentException("'" + text + "' is not LEVEL:NAME=VALUE (e.g. socket:so_priority=3)");
        }
        int level = number(text.substring(0, colon), LEVELS, "level", text);
        int name = number(text.substring(colon + 1, eq), NAMES, "option name", text);
        String v = text.substring(eq + 1).strip();
        byte[] value;
        if (v.startsWith("0x") || v.startsWith("0X")) {
            try {
                value = HexFormat.of().parseHex(v.substring(2));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + text + "': the value '" + v + "' is not hex bytes (0x followed by pairs of hex digits)");
            }
        } else {
            try {
                value = UdpOption.intBytes(Integer.parseInt(v));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "': the value '" + v + "' is neither a decimal int nor hex bytes 0x...");
            }
        }
        return new Raw(level, name, value);
    }

    private static int number(String s, Map<String, Integer> symbols, String what, String whole) {
        String k = s.strip().toLowerCase(Locale.ROOT);
        Integer known = symbols.get(k);
        if (known != null) {
            return known;
        }
        try {
            int n = Integer.parseInt(k);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + whole + "': unknown " + what + " '" + s + "' (a number, or one of "
                    + new java.util.TreeSet<>(symbols.keySet()) + ")");
        }
    }

    /** {@return the options in force, for the start line: empty when none} */
    static String describe(dev.abyss.server.Server server, ServerConfig config) {
        List<String> parts = new ArrayList<>();
        server.options().forEach((k, v) -> parts.add(k.name().toLowerCase(Locale.ROOT) + "=" + UdpOption.describe(v)));
        server.groups().forEach(g -> parts.add("join " + g));
        if (config.listen().netns() != null) {
            parts.add("netns " + config.listen().netns());
        }
        return String.join(", ", parts);
    }

    /** How a flag's refusal becomes the CLI's error naming it. */
    @FunctionalInterface
    interface Failure {
        void option(String flag, String value, Runnable set);
    }
}
