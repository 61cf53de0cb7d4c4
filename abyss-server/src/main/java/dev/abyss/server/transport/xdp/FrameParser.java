package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;

import static dev.abyss.server.transport.xdp.FrameLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Checks a received Ethernet frame and reads it into a {@link ReceivedFrame}, as the kernel's
 * receive path would before a socket saw the datagram; every length is checked against the bytes
 * actually there, so a frame is either {@link FrameCheck#OK} with a payload that lies inside it, or
 * counted by kind. Nothing is allocated, nothing thrown for any content.
 *
 * <p>What is served, and why:
 * <ul>
 *   <li>Ethernet II, untagged or with one 802.1Q tag (the reply carries the same tag); QinQ and
 *       stacked tags are {@link FrameCheck#NOT_IP}. Frames to a group MAC are the kernel's.</li>
 *   <li>IPv4 with or without options: options are legal (RFC 791) and the UDP header is found past
 *       IHL × 4; they are not interpreted (a source route is not followed), and replies carry none.
 *       The header checksum is verified (as ip_rcv does). Fragments are {@link FrameCheck#FRAGMENT}:
 *       the XDP program passes them to the kernel, which reassembles them for the fallback socket.
 *       Bytes past the total length (Ethernet padding of short frames) are ignored.</li>
 *   <li>IPv6 whose next header is UDP. Extension headers (hop-by-hop, routing, fragment,
 *       destination options) are not walked: such a packet is {@link FrameCheck#NOT_UDP}, the
 *       program passes it to the kernel. A payload length of 0 (a jumbogram) is not served.</li>
 *   <li>UDP whose length fits the IP payload (shorter is legal: the rest is trimmed, as udp_rcv
 *       does). The checksum is verified when asked ({@code verifyUdpChecksum}); a zero checksum
 *       means none on IPv4 and is refused on IPv6 (RFC 8200), whatever the setting. Leave
 *       verification off where the sender hands its checksum to the device (veth with TX checksum
 *       offload: the frame carries only the pseudo-header's partial sum).</li>
 *   <li>Sources the kernel calls martian, and port 0, are {@link FrameCheck#BAD_SOURCE}: no reply
 *       could reach them.</li>
 * </ul>
 * The bind decides what is ours and how peers are keyed, exactly as for a socket bound there: an
 * IPv4 address serves IPv4 to it (0.0.0.0: to any address); an IPv6 address serves IPv6 to it;
 * {@code ::} serves IPv6 to any address and, unless IPv6-only, IPv4 to any address with its peers
 * keyed v4-mapped ({@code ::ffff:a.b.c.d}), as a dual-stack socket reports them; a v4-mapped
 * address serves IPv4 to it, keyed v4-mapped. IPv6 link-local sources get the interface as their
 * scope, as the kernel reports them. One per acceptor; owner thread only.
 */
public final class FrameParser {
    private final int port;
    private final boolean serveV4;
    private final boolean serveV6;
    private final boolean keyV4Mapped;
    private final boolean wildcard;
    private final int v4Address;
    private final long v6Hi;
    private final long v6Lo;
    private final int interfaceIndex;
    private final boolean reportTrafficClass;
    private final boolean verifyUdpChecksum;
    private final int maxDatagramSize;

    /**
     * @param local              the bound address and port (its family and whether it is a wildcard decide
     *                           what is served, as above)
     * @param ipv6Only           for a {@code ::} bind: serve IPv6 only
     * @param interfaceIndex     the interface the frames come from (reported on a wildcard bind, and the
     *                           scope of link-local peers)
     * @param reportTrafficClass report the TOS / traffic class (as a socket given IP_RECVTOS)
     * @param verifyUdpChecksum  verify UDP checksums (a zero checksum on IPv6 is refused regardless)
     * @param maxDatagramSize    the longest payload delivered; a longer one is cut and marked truncated
     * @throws IllegalArgumentException for a local address that is not IP, a port outside 1..65535
     *                                  or a maxDatagramSize below 1
     */
    public FrameParser(PeerKey local, boolean ipv6Only, int interfaceIndex, boolean reportTrafficClass,
                       boolean verifyUdpChecksum, int maxDatagramSize) {
        if (local.port() < 1 || local.port() > 0xFFFF) {
            throw new IllegalArgumentException("local port must be 1..65535: " + local.port());
        }
        if (maxDatagramSize < 1) {
            throw new IllegalArgumentException("maxDatagramSize must be positive: " + maxDatagramSize);
        }
        this.port = local.port();
        if (local.family() == Net.AF_INET) {
            serveV4 = true;
            serveV6 = false;
            keyV4Mapped = false;
            v4Address = (int) local.lo();
            wildcard = v4Address == 0;
            v6Hi = 0;
            v6Lo = 0;
        } else if (local.family() == Net.AF_INET6 && local.isV4Mapped()) {
            serveV4 = true;
            serveV6 = false;
            keyV4Mapped = true;
            v4Address = (int) local.lo();
            wildcard = v4Address == 0;
            v6Hi = 0;
            v6Lo = 0;
        } else if (local.family() == Net.AF_INET6) {
            wildcard = local.hi() == 0 && local.lo() == 0;
            serveV6 = true;
            serveV4 = wildcard && !ipv6Only;
            keyV4Mapped = true;
            v4Address = 0;
            v6Hi = local.hi();
            v6Lo = local.lo();
        } else {
            throw new IllegalArgumentException("not an IP address: " + local);
        }
        this.interfaceIndex = interfaceIndex;
        this.reportTrafficClass = reportTrafficClass;
        this.verifyUdpChecksum = verifyUdpChecksum;
        this.maxDatagramSize = maxDatagramSize;
    }

    /**
     * Checks the {@code length}-byte frame at {@code at} in {@code s} and, when {@link FrameCheck#OK},
     * fills {@code out} (otherwise {@code out} is left undefined).
     *
     * @return {@link FrameCheck#OK} or why the frame is not delivered
     * @throws IndexOutOfBoundsException when the frame is not inside {@code s} (a bad descriptor: the
     *                                   caller checks descriptors against its UMEM)
     */
    public FrameCheck parse(MemorySegment s, long at, int length, ReceivedFrame out) {
        if (at < 0 || length < 0 || at + length > s.byteSize()) {
            throw new IndexOutOfBoundsException("frame [" + at + ", +" + length + ") outside a segment of " + s.byteSize());
        }
        long end = at + length;
        if (length < ETH_HEADER) {
            return FrameCheck.SHORT_ETHERNET;
        }
        int type = Short.toUnsignedInt(s.get(NET_SHORT, at + ETH_TYPE));
        int tci = NextHop.UNTAGGED;
        long l3 = at + ETH_HEADER;
        if (type == ETHERTYPE_VLAN) {
            if (length < VLAN_HEADER) {
                return FrameCheck.SHORT_ETHERNET;
            }
            tci = Short.toUnsignedInt(s.get(NET_SHORT, at + VLAN_TCI));
            type = Short.toUnsignedInt(s.get(NET_SHORT, at + VLAN_TYPE));
            l3 = at + VLAN_HEADER;
        }
        if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6) {
            return FrameCheck.NOT_IP;
        }
        if ((s.get(JAVA_BYTE, at + ETH_DESTINATION) & 1) != 0) {
            return FrameCheck.NOT_UNICAST;
        }
        if ((s.get(JAVA_BYTE, at + ETH_SOURCE) & 1) != 0) {
            return FrameCheck.BAD_SOURCE;
        }
        FrameCheck c = type == ETHERTYPE_IPV4 ? ipv4(s, l3, end, out) : ipv6(s, l3, end, out);
        if (c != FrameCheck.OK) {
            return c;
        }
        long mac = s.get(NET_LONG, at) >>> 16; // destination MAC: the first six bytes
        long sourceMac = (Integer.toUnsignedLong(s.get(NET_INT, at + ETH_SOURCE)) << 16)
                | Short.toUnsignedInt(s.get(NET_SHORT, at + ETH_SOURCE + 4));
        out.hop.set(sourceMac, mac, tci);
        out.reportDestination = wildcard;
        out.reportTrafficClass = reportTrafficClass;
        out.interfaceIndex = interfaceIndex;
        return FrameCheck.OK;
    }

    private FrameCheck ipv4(MemorySegment s, long ip, long end, ReceivedFrame out) {
        if (end - ip < IP4_HEADER) {
            return FrameCheck.SHORT_IP;
        }
        int versionIhl = s.get(JAVA_BYTE, ip + IP4_VERSION_IHL) & 0xFF;
        if (versionIhl >>> 4 != 4) {
            return FrameCheck.BAD_IP_VERSION;
        }
        int headerLength = (versionIhl & 0xF) * 4;
        if (headerLength < IP4_HEADER) {
            return FrameCheck.BAD_IP_HEADER_LENGTH;
        }
        if (end - ip < headerLength) {
            return FrameCheck.SHORT_IP;
        }
        int total = Short.toUnsignedInt(s.get(NET_SHORT, ip + IP4_TOTAL_LENGTH));
        if (total < headerLength || total > end - ip) {
            return FrameCheck.BAD_IP_LENGTH;
        }
        if (Checksum.fold(Checksum.add(s, ip, headerLength, 0)) != 0xFFFF) {
            return FrameCheck.BAD_IP_CHECKSUM;
        }
        if ((s.get(NET_SHORT, ip + IP4_FLAGS_FRAGMENT) & (IP4_MORE_FRAGMENTS | IP4_FRAGMENT_OFFSET)) != 0) {
            return FrameCheck.FRAGMENT;
        }
        if ((s.get(JAVA_BYTE, ip + IP4_PROTOCOL) & 0xFF) != PROTOCOL_UDP) {
            return FrameCheck.NOT_UDP;
        }
        int source = s.get(NET_INT, ip + IP4_SOURCE);
        int destination = s.get(NET_INT, ip + IP4_DESTINATION);
        if (!serveV4 || (!wildcard && destination != v4Address) || isV4GroupOrZero(destination)) {
            return FrameCheck.NOT_FOR_US;
        }
        int first = source >>> 24;
        if (first == 0 || first == 127 || isV4GroupOrZero(source)) {
            return FrameCheck.BAD_SOURCE;
        }
        long udp = ip + headerLength;
        int udpRoom = total - headerLength;
        FrameCheck c = udp(s, udp, udpRoom, out);
        if (c != FrameCheck.OK) {
            return c;
        }
        int udpLength = Short.toUnsignedInt(s.get(NET_SHORT, udp + UDP_LENGTH));
        if (verifyUdpChecksum && s.get(NET_SHORT, udp + UDP_CHECKSUM) != 0
                && Checksum.fold(Checksum.add(s, udp, udpLength, Checksum.pseudo4(source, destination, udpLength))) != 0xFFFF) {
            return FrameCheck.BAD_UDP_CHECKSUM;
        }
        out.source.setInet4(source, Short.toUnsignedInt(s.get(NET_SHORT, udp + UDP_SOURCE_PORT)), keyV4Mapped);
        out.destination.setInet4(destination, port, keyV4Mapped);
        out.trafficClass = s.get(JAVA_BYTE, ip + IP4_TOS) & 0xFF;
        out.hopLimit = s.get(JAVA_BYTE, ip + IP4_TTL) & 0xFF;
        out.ipVersion = 4;
        out.ipOffset = ip;
        return FrameCheck.OK;
    }

    /** 0.0.0.0, 255.255.255.255 or 224.0.0.0/4. */
    private static boolean isV4GroupOrZero(int address) {
        return address == 0 || address == -1 || (address >>> 28) == 0xE;
    }

    private FrameCheck ipv6(MemorySegment s, long ip, long end, ReceivedFrame out) {
        if (end - ip < IP6_HEADER) {
            return FrameCheck.SHORT_IP;
        }
        int first = s.get(NET_INT, ip + IP6_VERSION_CLASS_FLOW);
        if (first >>> 28 != 6) {
            return FrameCheck.BAD_IP_VERSION;
        }
        int payload = Short.toUnsignedInt(s.get(NET_SHORT, ip + IP6_PAYLOAD_LENGTH));
        if (payload == 0 || payload > end - ip - IP6_HEADER) {
            return FrameCheck.BAD_IP_LENGTH;
        }
        if ((s.get(JAVA_BYTE, ip + IP6_NEXT_HEADER) & 0xFF) != PROTOCOL_UDP) {
            return FrameCheck.NOT_UDP;
        }
        long sourceHi = s.get(NET_LONG, ip + IP6_SOURCE);
        long sourceLo = s.get(NET_LONG, ip + IP6_SOURCE + 8);
        long destinationHi = s.get(NET_LONG, ip + IP6_DESTINATION);
        long destinationLo = s.get(NET_LONG, ip + IP6_DESTINATION + 8);
        if (!serveV6 || (!wildcard && (destinationHi != v6Hi || destinationLo != v6Lo))
                || (destinationHi >>> 56) == 0xFF || (destinationHi == 0 && destinationLo == 0)) {
            return FrameCheck.NOT_FOR_US;
        }
        if ((sourceHi >>> 56) == 0xFF || (sourceHi == 0 && (sourceLo == 0 || sourceLo == 1 || (sourceLo >>> 32) == 0xFFFF))) {
            return FrameCheck.BAD_SOURCE; // multicast, ::, ::1, v4-mapped (ip6_rcv_core drops them too)
        }
        long udp = ip + IP6_HEADER;
        FrameCheck c = udp(s, udp, payload, out);
        if (c != FrameCheck.OK) {
            return c;
        }
        int udpLength = Short.toUnsignedInt(s.get(NET_SHORT, udp + UDP_LENGTH));
        if (s.get(NET_SHORT, udp + UDP_CHECKSUM) == 0 || verifyUdpChecksum && Checksum.fold(Checksum.add(s, udp, udpLength,
                Checksum.pseudo6(sourceHi, sourceLo, destinationHi, destinationLo, udpLength))) != 0xFFFF) {
            return FrameCheck.BAD_UDP_CHECKSUM;
        }
        boolean linkLocal = (sourceHi >>> 54) == (0xFE80L >>> 6); // fe80::/10
        out.source.setInet6(sourceHi, sourceLo, linkLocal ? interfaceIndex : 0,
                Short.toUnsignedInt(s.get(NET_SHORT, udp + UDP_SOURCE_PORT)));
        out.destination.setInet6(destinationHi, destinationLo, 0, port);
        out.trafficClass = (first >>> 20) & 0xFF;
        out.hopLimit = s.get(JAVA_BYTE, ip + IP6_HOP_LIMIT) & 0xFF;
        out.ipVersion = 6;
        out.ipOffset = ip;
        return FrameCheck.OK;
    }

    /** Checks the UDP header at {@code udp} with {@code room} bytes of IP payload; sets the payload. */
    private FrameCheck udp(MemorySegment s, long udp, int room, ReceivedFrame out) {
        if (room < UDP_HEADER) {
            return FrameCheck.SHORT_UDP;
        }
        int udpLength = Short.toUnsignedInt(s.get(NET_SHORT, udp + UDP_LENGTH));
        if (udpLength < UDP_HEADER || udpLength > room) {
            return FrameCheck.BAD_UDP_LENGTH;
        }
        if (Short.toUnsignedInt(s.get(NET_SHORT, udp + UDP_DESTINATION_PORT)) != port) {
            return FrameCheck.NOT_FOR_US;
        }
        if (s.get(NET_SHORT, udp + UDP_SOURCE_PORT) == 0) {
            return FrameCheck.BAD_SOURCE;
        }
        int payload = udpLength - UDP_HEADER;
        out.udpOffset = udp;
        out.payloadOffset = udp + UDP_HEADER;
        out.truncated = payload > maxDatagramSize;
        out.payloadLength = Math.min(payload, maxDatagramSize);
        return FrameCheck.OK;
    }
}
