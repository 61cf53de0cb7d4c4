package dev.abyss.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * A multicast membership of the server's sockets: a group, on an interface, for every source or for
 * one ({@code :gen_udp}'s {@code add_membership}; source-specific multicast, RFC 4607, when
 * {@link #source()} is set). Joined by every acceptor's socket ({@link ServerConfig.Builder#joinGroup},
 * {@link Server#joinGroup}).
 *
 * @param group         an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address
 * @param interfaceName the interface to join on, as the socket's network namespace names it; null
 *                      lets the kernel pick the one its route to the group names
 * @param source        the one source accepted (of the group's family, not multicast), or null for any
 */
public record MulticastGroup(InetAddress group, String interfaceName, InetAddress source) {

    /**
     * Checks the membership.
     *
     * @throws IllegalArgumentException naming the address when {@code group} is not multicast, the
     *                                  source is multicast or of the other family, or the interface
     *                                  name cannot be one
     */
    public MulticastGroup {
        Objects.requireNonNull(group, "group");
        if (!group.isMulticastAddress()) {
            throw new IllegalArgumentException("joinGroup " + group.getHostAddress()
                    + ": not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)");
        }
        if (interfaceName != null) {
            UdpOption.MULTICAST_INTERFACE.check(interfaceName);
        }
        if (source != null) {
            if (source.isMulticastAddress() || source.isAnyLocalAddress()) {
                throw new IllegalArgumentException("joinGroup " + group.getHostAddress() + " source " + source.getHostAddress()
                        + ": a source is a unicast address");
            }
            if (source.getClass() != group.getClass()) {
                throw new IllegalArgumentException("joinGroup " + group.getHostAddress() + " source " + source.getHostAddress()
                        + ": the source is not of the group's address family");
            }
        }
    }

    /**
     * Parses {@code GROUP[@INTERFACE][/SOURCE]}, e.g. {@code 239.1.2.3}, {@code 239.1.2.3@eth0},
     * {@code ff15::1:2:3@eth0/fd00::1}. Addresses are literals: nothing is looked up.
     *
     * @param text the membership
     * @return it
     * @throws IllegalArgumentException naming the text when it is malformed
     */
    public static MulticastGroup parse(String text) {
        String rest = text.strip();
        InetAddress source = null;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            source = literal(rest.substring(slash + 1), text);
            rest = rest.substring(0, slash);
        }
        String iface = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            iface = rest.substring(at + 1);
            rest = rest.substring(0, at);
        }
        return new MulticastGroup(literal(rest, text), iface, source);
    }

    private static InetAddress literal(String address, String whole) {
        boolean v6 = address.indexOf(':') >= 0 && address.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':');
        if (!v6 && !address.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException("joinGroup '" + whole + "': '" + address + "' is not an IP address literal"
                    + " (expected GROUP[@INTERFACE][/SOURCE])");
        }
        try {
            return InetAddress.getByName(address); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("joinGroup '" + whole + "': '" + address + "' is not an IP address", e);
        }
    }

    /** {@return {@code GROUP[@INTERFACE][/SOURCE]}, as {@link #parse} reads it} */
    @Override
    public String toString() {
        return group.getHostAddress() + (interfaceName == null ? "" : "@" + interfaceName)
                + (source == null ? "" : "/" + source.getHostAddress());
    }
}
