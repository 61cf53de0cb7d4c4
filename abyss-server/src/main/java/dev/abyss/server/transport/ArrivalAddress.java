package dev.abyss.server.transport;

import dev.abyss.ffi.net.ControlMessages;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Replies from the address a request came to, for sockets bound to a wildcard address: reads the
 * destination of each received datagram from its IP_PKTINFO / IPV6_PKTINFO control message, and
 * writes the control message that makes a reply leave from that address. Without it a reply to a
 * datagram sent to 127.0.0.5 (or to a VIP, or to one address of a multi-homed host) would leave
 * from whatever address the route picks, and a connected client would never see it. One per
 * transport, owner thread only; nothing allocated per datagram.
 */
public final class ArrivalAddress {
    /** Control space a receive needs for it: IP_PKTINFO, and IPV6_PKTINFO on an IPv6 socket. */
    public static final int RECEIVE_SPACE = (int) (MsgLayouts.cmsgSpace(MsgLayouts.IN_PKTINFO.byteSize())
            + MsgLayouts.cmsgSpace(MsgLayouts.IN6_PKTINFO.byteSize()));
    /** Control space a send needs for it (the larger of the two). */
    public static final int SEND_SPACE = (int) MsgLayouts.cmsgSpace(MsgLayouts.IN6_PKTINFO.byteSize());

    // addresses in the pktinfo structs are in network order; read at any alignment inside control space
    private static final ValueLayout.OfInt NET_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong NET_LONG = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final boolean enabled;
    private final boolean ipv6Socket;
    private final int port;
    private final PeerKey destination = new PeerKey();
    /** The destination in the IP header, when it is not the reply source: a multicast group, a broadcast address. */
    private final PeerKey header = new PeerKey();
    private boolean headerDiffers;
    private boolean known;

    /**
     * @param enabled    whether the socket was given IP_PKTINFO (a wildcard bind)
     * @param ipv6Socket whether it is an AF_INET6 socket (its IPv4 peers are v4-mapped)
     * @param port       its local port (the destination's port)
     */
    public ArrivalAddress(boolean enabled, boolean ipv6Socket, int port) {
        this.enabled = enabled;
        this.ipv6Socket = ipv6Socket;
        this.port = port;
    }

    public boolean enabled() {
        return enabled;
    }

    /**
     * Reads the destination from the IP_PKTINFO data at {@code data}: {@code ipi_spec_dst} as the
     * source of replies (the kernel's choice: the header's destination for unicast, an address of
     * the receiving interface for a multicast group or a broadcast address, which cannot be a
     * source), {@code ipi_addr} as the header's destination ({@link #headerDestination()}).
     */
    void readInet4(MemorySegment control, long data) {
        int specDst = control.get(NET_INT, data + MsgLayouts.IPI_SPEC_DST);
        int addr = control.get(NET_INT, data + MsgLayouts.IPI_ADDR);
        destination.setInet4(specDst, port, ipv6Socket);
        headerDiffers = specDst != addr;
        if (headerDiffers) {
            header.setInet4(addr, port, ipv6Socket);
        }
        known = true;
    }

    /** Reads the destination from the IPV6_PKTINFO data at {@code data}. */
    void readInet6(MemorySegment control, long data) {
        destination.setInet6(control.get(NET_LONG, data + MsgLayouts.IPI6_ADDR),
                control.get(NET_LONG, data + MsgLayouts.IPI6_ADDR + 8), 0, port);
        headerDiffers = false;
        known = true;
    }

    /** Forgets the last destination (a new datagram is being read). */
    void clear() {
        known = false;
    }

    /** The source replies to the datagram last read leave from, or null. Valid until the next datagram is read. */
    public PeerKey destination() {
        return known ? destination : null;
    }

    /**
     * The destination in the header of the datagram last read (the group of a multicast datagram,
     * the broadcast address of a broadcast), or null. Valid until the next datagram is read.
     */
    public PeerKey headerDestination() {
        return !known ? null : headerDiffers ? header : destination;
    }

    /**
     * Writes into {@code control} at {@code at} the control message that sends from {@code from}
     * (IP_PKTINFO's ipi_spec_dst for an IPv4 or v4-mapped address, IPV6_PKTINFO otherwise);
     * returns its length for {@code msg_controllen}, 0 when nothing is needed.
     */
    public int writeSource(PeerKey from, MemorySegment control, long at) {
        if (!enabled || from == null) {
            return 0;
        }
        boolean v4 = from.family() == Net.AF_INET || from.isV4Mapped();
        if (!v4 && from.family() != Net.AF_INET6) {
            return 0;
        }
        if (!v4 && (from.hi() >>> 56) == 0xFF) {
            return 0; // an IPv6 multicast group is no source: the kernel picks one of the interface's
        }
        long size = (v4 ? MsgLayouts.IN_PKTINFO : MsgLayouts.IN6_PKTINFO).byteSize();
        long d = ControlMessages.write(control, at, v4 ? Net.SOL_IP : Net.SOL_IPV6, v4 ? Net.IP_PKTINFO : Net.IPV6_PKTINFO, size);
        if (v4) {
            control.set(JAVA_INT_UNALIGNED, d, 0); // ipi_ifindex: any interface
            control.set(NET_INT, d + MsgLayouts.IPI_SPEC_DST, (int) from.lo()); // the source
            control.set(JAVA_INT_UNALIGNED, d + MsgLayouts.IPI_ADDR, 0); // unused on send
        } else {
            control.set(NET_LONG, d + MsgLayouts.IPI6_ADDR, from.hi());
            control.set(NET_LONG, d + MsgLayouts.IPI6_ADDR + 8, from.lo());
            control.set(JAVA_INT_UNALIGNED, d + MsgLayouts.IPI6_IFINDEX, from.scopeId());
        }
        return (int) MsgLayouts.cmsgSpace(size);
    }
}
