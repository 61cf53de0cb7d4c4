package dev.abyss.ffi.net;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Multicast group membership of a socket, and the structs of the multicast options
 * ({@code <netinet/in.h>}). Joins and leaves use the protocol-independent
 * {@code MCAST_JOIN_GROUP} / {@code MCAST_JOIN_SOURCE_GROUP} (RFC 3678): one struct for IPv4 and
 * IPv6, the interface by index; the level is the group's family ({@code SOL_IP} for an IPv4 group,
 * also on a dual-stack IPv6 socket, which receives IPv4 datagrams; {@code SOL_IPV6} for IPv6).
 */
public final class Membership {
    private Membership() {
    }

    /** {@code struct group_req}: an any-source membership (interface index 0: the kernel's route picks one). */
    public static final StructLayout GROUP_REQ = MemoryLayout.structLayout(
            JAVA_INT.withName("gr_interface"),
            MemoryLayout.paddingLayout(4),
            SockAddr.SOCKADDR_STORAGE.withName("gr_group")).withName("group_req");

    /** {@code struct group_source_req}: a source-specific membership. */
    public static final StructLayout GROUP_SOURCE_REQ = MemoryLayout.structLayout(
            JAVA_INT.withName("gsr_interface"),
            MemoryLayout.paddingLayout(4),
            SockAddr.SOCKADDR_STORAGE.withName("gsr_group"),
            SockAddr.SOCKADDR_STORAGE.withName("gsr_source")).withName("group_source_req");

    /** {@code struct ip_mreqn}: IPv4 group, local address, interface index (IP_MULTICAST_IF, IP_ADD_MEMBERSHIP). */
    public static final StructLayout IP_MREQN = MemoryLayout.structLayout(
            JAVA_INT.withName("imr_multiaddr"),
            JAVA_INT.withName("imr_address"),
            JAVA_INT.withName("imr_ifindex")).withName("ip_mreqn");

    /** {@code struct ip_mreq_source}: IPv4 group, interface address, source (IP_ADD_SOURCE_MEMBERSHIP). */
    public static final StructLayout IP_MREQ_SOURCE = MemoryLayout.structLayout(
            JAVA_INT.withName("imr_multiaddr"),
            JAVA_INT.withName("imr_interface"),
            JAVA_INT.withName("imr_sourceaddr")).withName("ip_mreq_source");

    /** {@code struct ipv6_mreq}: IPv6 group and interface index (IPV6_ADD_MEMBERSHIP). */
    public static final StructLayout IPV6_MREQ = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("ipv6mr_multiaddr"),
            JAVA_INT.withName("ipv6mr_interface")).withName("ipv6_mreq");

    private static final long GR_GROUP = GROUP_REQ.byteOffset(groupElement("gr_group"));
    private static final long GSR_GROUP = GROUP_SOURCE_REQ.byteOffset(groupElement("gsr_group"));
    private static final long GSR_SOURCE = GROUP_SOURCE_REQ.byteOffset(groupElement("gsr_source"));
    private static final long IMR_IFINDEX = IP_MREQN.byteOffset(groupElement("imr_ifindex"));

    /**
     * Joins or leaves {@code group} on interface {@code ifindex}, for every source or, with
     * {@code source}, that one only.
     *
     * @param fd      the socket
     * @param join    join (true) or leave
     * @param group   a multicast address
     * @param ifindex the interface's index, 0 for the one the route to the group names
     * @param source  the one source accepted, or null for any
     * @throws NativeException naming the option, group, source and interface, with the errno
     *                         (EADDRINUSE: already joined; EADDRNOTAVAIL: not joined; ENODEV: no such interface)
     */
    public static void change(int fd, boolean join, InetAddress group, int ifindex, InetAddress source) throws NativeException {
        int level = group instanceof Inet4Address ? Net.SOL_IP : Net.SOL_IPV6;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment req;
            int option;
            if (source == null) {
                req = arena.allocate(GROUP_REQ);
                req.set(JAVA_INT, 0, ifindex);
                SockAddr.write(new InetSocketAddress(group, 0), req.asSlice(GR_GROUP, SockAddr.STORAGE_SIZE));
                option = join ? Net.MCAST_JOIN_GROUP : Net.MCAST_LEAVE_GROUP;
            } else {
                req = arena.allocate(GROUP_SOURCE_REQ);
                req.set(JAVA_INT, 0, ifindex);
                SockAddr.write(new InetSocketAddress(group, 0), req.asSlice(GSR_GROUP, SockAddr.STORAGE_SIZE));
                SockAddr.write(new InetSocketAddress(source, 0), req.asSlice(GSR_SOURCE, SockAddr.STORAGE_SIZE));
                option = join ? Net.MCAST_JOIN_SOURCE_GROUP : Net.MCAST_LEAVE_SOURCE_GROUP;
            }
            String name = (join ? "MCAST_JOIN" : "MCAST_LEAVE") + (source == null ? "_GROUP " : "_SOURCE_GROUP ")
                    + group.getHostAddress() + (source == null ? "" : " source " + source.getHostAddress())
                    + " interface " + ifindex;
            LibC.check(LibC.setsockopt(fd, level, option, req, (int) req.byteSize()), "setsockopt(" + name + ")");
        }
    }

    /**
     * Sets the interface of IPv4 multicast sends (IP_MULTICAST_IF with an {@code ip_mreqn}).
     *
     * @param fd      the socket
     * @param ifindex the interface's index, 0 for the route's
     * @throws NativeException when the kernel refuses
     */
    public static void setInet4Interface(int fd, int ifindex) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment req = arena.allocate(IP_MREQN);
            req.set(JAVA_INT, IMR_IFINDEX, ifindex);
            LibC.check(LibC.setsockopt(fd, Net.SOL_IP, Net.IP_MULTICAST_IF, req, (int) req.byteSize()),
                    "setsockopt(IP_MULTICAST_IF interface " + ifindex + ")");
        }
    }
}
