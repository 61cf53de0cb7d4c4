package dev.abyss.server.transport.xdp;

/**
 * What {@link FrameParser#parse} found in a frame: {@link #OK}, or why it is not delivered. The
 * transport counts each kind (its ordinal indexes a counter array) and returns the frame to the
 * fill ring; nothing here throws. Two families:
 * <ul>
 *   <li>{@linkplain #malformed() malformed}: a length or field that contradicts the frame, which the
 *       kernel would drop too (truncated headers, lengths past the frame, bad checksums);</li>
 *   <li>well formed but not served on this path ({@link #NOT_IP}, {@link #NOT_UDP},
 *       {@link #FRAGMENT}, {@link #NOT_UNICAST}, {@link #NOT_FOR_US}, {@link #BAD_SOURCE}): the
 *       XDP program passes such frames to the kernel, so one reaching the socket means the program
 *       and the parser disagree, or the frame changed between them.</li>
 * </ul>
 */
public enum FrameCheck {
    /** A UDP datagram for this socket: the {@link ReceivedFrame} holds its facts. */
    OK(false),
    /** Fewer bytes than an Ethernet header (14), or than its 802.1Q tag (18). */
    SHORT_ETHERNET(true),
    /** An EtherType other than IPv4 or IPv6 after at most one 802.1Q tag (ARP, QinQ, two tags...). */
    NOT_IP(false),
    /** The Ethernet destination is a group (multicast or broadcast) address: the kernel's. */
    NOT_UNICAST(false),
    /** Fewer bytes than the IP header (20, or IHL × 4 with options; 40 for IPv6). */
    SHORT_IP(true),
    /** The IP version field disagrees with the EtherType. */
    BAD_IP_VERSION(true),
    /** IPv4 IHL below 5. */
    BAD_IP_HEADER_LENGTH(true),
    /**
     * IPv4 total length shorter than its header or longer than the frame; IPv6 payload length 0 (a
     * jumbogram, not served) or longer than the frame.
     */
    BAD_IP_LENGTH(true),
    /** The IPv4 header checksum does not verify. */
    BAD_IP_CHECKSUM(true),
    /** An IPv4 fragment (more-fragments set or a fragment offset): reassembly is the kernel's. */
    FRAGMENT(false),
    /** Not UDP: another protocol, or IPv6 with any extension header (a fragment header included). */
    NOT_UDP(false),
    /** Fewer IP payload bytes than a UDP header. */
    SHORT_UDP(true),
    /** UDP length below 8 or past the IP payload. */
    BAD_UDP_LENGTH(true),
    /** The UDP checksum does not verify, or is absent (0) on IPv6. */
    BAD_UDP_CHECKSUM(true),
    /** To another port, or to an address this socket is not bound to, or of a family it does not serve. */
    NOT_FOR_US(false),
    /**
     * A source no reply can go to: port 0, an IPv4 source that is 0.0.0.0, broadcast or multicast,
     * an IPv6 source that is :: or multicast, an Ethernet source with the group bit.
     */
    BAD_SOURCE(true);

    private static final FrameCheck[] ALL = values();
    private final boolean malformed;

    FrameCheck(boolean malformed) {
        this.malformed = malformed;
    }

    /** {@return whether the frame contradicts itself (as opposed to being well formed but not served here)} */
    public boolean malformed() {
        return malformed;
    }

    /** {@return every kind, by ordinal (a shared array: do not modify)} */
    static FrameCheck[] all() {
        return ALL;
    }
}
