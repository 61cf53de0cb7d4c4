package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;

import static dev.abyss.server.transport.xdp.FrameLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Builds a UDP datagram as a whole Ethernet frame, the way the kernel's socket path would have sent
 * it from an unconnected UDP socket with default options, so a peer cannot tell the paths apart:
 * <ul>
 *   <li>Ethernet from the {@link NextHop} (the request's MACs swapped), with its 802.1Q tag if it
 *       came with one;</li>
 *   <li>IPv4 without options: TTL as configured (the kernel's {@code net.ipv4.ip_default_ttl}, 64),
 *       Don't Fragment set and identification 0 (path MTU discovery is on by default, and an
 *       unconnected socket's DF packets carry id 0), the header checksum;</li>
 *   <li>IPv6: hop limit as configured (the interface's {@code hop_limit}, 64), a flow label hashed
 *       from the addresses and ports (the kernel's auto flow labels do the same for a flow);</li>
 *   <li>the traffic class given by the engine (-1: the socket's default, 0), DSCP and ECN bits as
 *       given, as the IP_TOS / IPV6_TCLASS control message sets them;</li>
 *   <li>the UDP checksum over the pseudo-header, header and payload: always on IPv6, on IPv4 unless
 *       configured off (then 0, "no checksum"); a computed 0 is sent as 0xFFFF.</li>
 * </ul>
 * A refusal is a negative return, never an exception: {@link #TOO_LARGE}, {@link #NO_SOURCE},
 * {@link #FAMILY_MISMATCH}, {@link #UNKNOWN_HOP}; the transport sends such a datagram through its
 * socket instead, or counts it. Nothing is allocated. One per acceptor (it is immutable, so it may
 * be shared).
 */
public final class FrameWriter {
    /** The frame would exceed the room given, or the datagram the IP length field. */
    public static final int TOO_LARGE = -1;
    /** No source address (null, a wildcard address, or port 0): the transport supplies its bound address. */
    public static final int NO_SOURCE = -2;
    /** Source and destination are of different families, or not IP. */
    public static final int FAMILY_MISMATCH = -3;
    /** The hop has learned no MACs yet. */
    public static final int UNKNOWN_HOP = -4;

    private final int ttl;
    private final int hopLimit;
    private final boolean ipv4UdpChecksum;

    /**
     * @param ttl             the IPv4 TTL (1..255)
     * @param hopLimit        the IPv6 hop limit (1..255)
     * @param ipv4UdpChecksum compute the UDP checksum on IPv4 too (it is optional there)
     * @throws IllegalArgumentException a TTL or hop limit outside 1..255
     */
    public FrameWriter(int ttl, int hopLimit, boolean ipv4UdpChecksum) {
        if (ttl < 1 || ttl > 255 || hopLimit < 1 || hopLimit > 255) {
            throw new IllegalArgumentException("TTL and hop limit must be 1..255: " + ttl + ", " + hopLimit);
        }
        this.ttl = ttl;
        this.hopLimit = hopLimit;
        this.ipv4UdpChecksum = ipv4UdpChecksum;
    }

    /** {@return the frame's header bytes in front of the payload for a datagram to {@code to} through {@code hop}} */
    public static int headerLength(NextHop hop, PeerKey to) {
        return FrameLayout.headerLength(hop.vlanTci() != NextHop.UNTAGGED, isIpv6(to));
    }

    private static boolean isIpv6(PeerKey k) {
        return k.family() == Net.AF_INET6 && !k.isV4Mapped();
    }

    /**
     * Copies the payload to its place in the frame at {@code at} (the source may be the same frame,
     * overlapping: a reply built in the request's own frame), then writes the headers.
     *
     * @param frame        the segment to write the frame into (a UMEM)
     * @param at           where the frame starts
     * @param capacity     the room there
     * @param hop          the layer-2 hop
     * @param to           the peer (address and port; v4-mapped means IPv4)
     * @param from         the source (address and port): the bound address, or the request's destination
     * @param trafficClass the TOS / traffic-class byte, -1 for the default
     * @param payload      where the payload is
     * @param offset       its offset there
     * @param length       its length
     * @return the frame's length, or a negative refusal (nothing then written)
     */
    public int write(MemorySegment frame, long at, int capacity, NextHop hop, PeerKey to, PeerKey from, int trafficClass,
                     MemorySegment payload, long offset, int length) {
        int check = check(hop, to, from, length);
        if (check < 0) {
            return check;
        }
        int headers = headerLength(hop, to);
        if ((long) headers + length > capacity) {
            return TOO_LARGE;
        }
        MemorySegment.copy(payload, offset, frame, at + headers, length);
        return writeHeaders(frame, at, hop, to, from, trafficClass, length);
    }

    /**
     * Writes the headers in front of the {@code length} payload bytes already at
     * {@code at + headerLength(hop, to)}, checksums included.
     *
     * @return the frame's length, or a negative refusal (nothing then written)
     */
    public int writeHeaders(MemorySegment frame, long at, NextHop hop, PeerKey to, PeerKey from, int trafficClass, int length) {
        int check = check(hop, to, from, length);
        if (check < 0) {
            return check;
        }
        int tc = trafficClass < 0 ? 0 : trafficClass & 0xFF;
        frame.set(NET_INT, at + ETH_DESTINATION, (int) (hop.remoteMac() >>> 16));
        frame.set(NET_SHORT, at + ETH_DESTINATION + 4, (short) hop.remoteMac());
        frame.set(NET_INT, at + ETH_SOURCE, (int) (hop.localMac() >>> 16));
        frame.set(NET_SHORT, at + ETH_SOURCE + 4, (short) hop.localMac());
        long ip = at + ETH_HEADER;
        boolean v6 = isIpv6(to);
        int ethertype = v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
        if (hop.vlanTci() != NextHop.UNTAGGED) {
            frame.set(NET_SHORT, at + ETH_TYPE, (short) ETHERTYPE_VLAN);
            frame.set(NET_SHORT, at + VLAN_TCI, (short) hop.vlanTci());
            frame.set(NET_SHORT, at + VLAN_TYPE, (short) ethertype);
            ip = at + VLAN_HEADER;
        } else {
            frame.set(NET_SHORT, at + ETH_TYPE, (short) ethertype);
        }
        int udpLength = UDP_HEADER + length;
        long udp = ip + (v6 ? IP6_HEADER : IP4_HEADER);
        int sourcePort = from.port();
        int destinationPort = to.port();
        long sum = Checksum.add(frame, udp + UDP_HEADER, length, sourcePort + destinationPort + udpLength);
        boolean udpChecksum;
        if (v6) {
            long sHi = from.hi();
            long sLo = from.lo();
            long dHi = to.hi();
            long dLo = to.lo();
            frame.set(NET_INT, ip + IP6_VERSION_CLASS_FLOW, 6 << 28 | tc << 20 | flowLabel(sHi ^ sLo, dHi ^ dLo, sourcePort, destinationPort));
            frame.set(NET_SHORT, ip + IP6_PAYLOAD_LENGTH, (short) udpLength);
            frame.set(JAVA_BYTE, ip + IP6_NEXT_HEADER, (byte) PROTOCOL_UDP);
            frame.set(JAVA_BYTE, ip + IP6_HOP_LIMIT, (byte) hopLimit);
            frame.set(NET_LONG, ip + IP6_SOURCE, sHi);
            frame.set(NET_LONG, ip + IP6_SOURCE + 8, sLo);
            frame.set(NET_LONG, ip + IP6_DESTINATION, dHi);
            frame.set(NET_LONG, ip + IP6_DESTINATION + 8, dLo);
            sum += Checksum.pseudo6(sHi, sLo, dHi, dLo, udpLength);
            udpChecksum = true;
        } else {
            int source = (int) from.lo();
            int destination = (int) to.lo();
            int total = IP4_HEADER + udpLength;
            frame.set(NET_SHORT, ip + IP4_VERSION_IHL, (short) (0x4500 | tc));
            frame.set(NET_SHORT, ip + IP4_TOTAL_LENGTH, (short) total);
            frame.set(NET_INT, ip + IP4_ID, IP4_DONT_FRAGMENT); // id 0, DF, offset 0
            frame.set(NET_SHORT, ip + IP4_TTL, (short) (ttl << 8 | PROTOCOL_UDP));
            frame.set(NET_INT, ip + IP4_SOURCE, source);
            frame.set(NET_INT, ip + IP4_DESTINATION, destination);
            long header = (0x4500 | tc) + total + IP4_DONT_FRAGMENT + (ttl << 8 | PROTOCOL_UDP)
                    + Integer.toUnsignedLong(source) + Integer.toUnsignedLong(destination);
            frame.set(NET_SHORT, ip + IP4_CHECKSUM, (short) Checksum.finish(header));
            sum += Checksum.pseudo4(source, destination, udpLength);
            udpChecksum = ipv4UdpChecksum;
        }
        frame.set(NET_SHORT, udp + UDP_SOURCE_PORT, (short) sourcePort);
        frame.set(NET_SHORT, udp + UDP_DESTINATION_PORT, (short) destinationPort);
        frame.set(NET_SHORT, udp + UDP_LENGTH, (short) udpLength);
        int c = 0;
        if (udpChecksum) {
            c = Checksum.finish(sum);
            if (c == 0) {
                c = 0xFFFF; // 0 would mean "no checksum" (RFC 768)
            }
        }
        frame.set(NET_SHORT, udp + UDP_CHECKSUM, (short) c);
        return (int) (udp + udpLength - at);
    }

    private static int check(NextHop hop, PeerKey to, PeerKey from, int length) {
        if (!hop.known()) {
            return UNKNOWN_HOP;
        }
        if (from == null || from.port() == 0 || (from.hi() == 0 && (from.lo() == 0 || from.lo() == 0xFFFF_0000_0000L))) {
            return NO_SOURCE;
        }
        boolean toIp = to.family() == Net.AF_INET || to.family() == Net.AF_INET6;
        boolean fromIp = from.family() == Net.AF_INET || from.family() == Net.AF_INET6;
        if (!toIp || !fromIp || isIpv6(to) != isIpv6(from)) {
            return FAMILY_MISMATCH;
        }
        // IPv4's total length and IPv6's payload length are 16 bits
        if (length < 0 || length > 0xFFFF - UDP_HEADER - (isIpv6(to) ? 0 : IP4_HEADER)) {
            return TOO_LARGE;
        }
        return 0;
    }

    /** A 20-bit label, the same for every datagram of a flow. */
    private static int flowLabel(long source, long destination, int sourcePort, int destinationPort) {
        long h = (source * 0x9E3779B97F4A7C15L) ^ (destination * 0xC2B2AE3D27D4EB4FL) ^ ((long) sourcePort << 16 | destinationPort);
        h *= 0x165667B19E3779F9L;
        return (int) (h >>> 44);
    }
}
