package dev.abyss.server.transport.xdp;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The wire layouts the codec reads and writes: Ethernet II with an optional 802.1Q tag, IPv4
 * (RFC 791), IPv6 (RFC 8200), UDP (RFC 768). Offsets are from the start of their header; every
 * field is big-endian and may sit at any alignment in a UMEM frame, hence the unaligned layouts.
 */
public final class FrameLayout {
    /** A big-endian 16-bit field at any alignment. */
    public static final ValueLayout.OfShort NET_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** A big-endian 32-bit field at any alignment. */
    public static final ValueLayout.OfInt NET_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** A big-endian 64-bit field at any alignment. */
    public static final ValueLayout.OfLong NET_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    // Ethernet II
    public static final int ETH_DESTINATION = 0;
    public static final int ETH_SOURCE = 6;
    public static final int ETH_TYPE = 12;
    public static final int ETH_HEADER = 14;
    /** An 802.1Q tag sits where the EtherType was: TPID 0x8100, then the TCI, then the inner EtherType. */
    public static final int VLAN_TCI = 14;
    public static final int VLAN_TYPE = 16;
    public static final int VLAN_HEADER = 18;
    public static final int ETHERTYPE_IPV4 = 0x0800;
    public static final int ETHERTYPE_IPV6 = 0x86DD;
    public static final int ETHERTYPE_VLAN = 0x8100;
    /** 802.1ad (QinQ) outer tag: not served (the frame is not ours). */
    public static final int ETHERTYPE_QINQ = 0x88A8;

    // IPv4
    public static final int IP4_VERSION_IHL = 0;
    public static final int IP4_TOS = 1;
    public static final int IP4_TOTAL_LENGTH = 2;
    public static final int IP4_ID = 4;
    public static final int IP4_FLAGS_FRAGMENT = 6;
    public static final int IP4_TTL = 8;
    public static final int IP4_PROTOCOL = 9;
    public static final int IP4_CHECKSUM = 10;
    public static final int IP4_SOURCE = 12;
    public static final int IP4_DESTINATION = 16;
    /** The header without options (IHL 5). */
    public static final int IP4_HEADER = 20;
    public static final int IP4_DONT_FRAGMENT = 0x4000;
    public static final int IP4_MORE_FRAGMENTS = 0x2000;
    public static final int IP4_FRAGMENT_OFFSET = 0x1FFF;

    // IPv6
    public static final int IP6_VERSION_CLASS_FLOW = 0;
    public static final int IP6_PAYLOAD_LENGTH = 4;
    public static final int IP6_NEXT_HEADER = 6;
    public static final int IP6_HOP_LIMIT = 7;
    public static final int IP6_SOURCE = 8;
    public static final int IP6_DESTINATION = 24;
    public static final int IP6_HEADER = 40;

    // UDP
    public static final int UDP_SOURCE_PORT = 0;
    public static final int UDP_DESTINATION_PORT = 2;
    public static final int UDP_LENGTH = 4;
    public static final int UDP_CHECKSUM = 6;
    public static final int UDP_HEADER = 8;
    public static final int PROTOCOL_UDP = 17;

    private FrameLayout() {
    }

    /**
     * {@return the bytes of headers in front of a UDP payload: Ethernet (with a tag when
     * {@code tagged}), IPv4 without options or IPv6, UDP}
     */
    public static int headerLength(boolean tagged, boolean ipv6) {
        return (tagged ? VLAN_HEADER : ETH_HEADER) + (ipv6 ? IP6_HEADER : IP4_HEADER) + UDP_HEADER;
    }
}
