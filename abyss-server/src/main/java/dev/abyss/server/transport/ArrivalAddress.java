package dev.abyss.server.transport;

import dev.abyss.ffi.net.ControlMessages;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

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
    public static final int RECEIVE_SPACE = (int) (MsgLayouts.cmsgSpace(IN_PKTINFO()) + MsgLayouts.cmsgSpace(IN6_PKTINFO()));
    /** Control space a send needs for it (the larger of the two). */
    public static final int SEND_SPACE = (int) MsgLayouts.cmsgSpace(IN6_PKTINFO());

    private static long IN_PKTINFO() {
        return 12; // struct in_pktinfo: ipi_ifindex, ipi_spec_dst, ipi_addr
    }

    private static long IN6_PKTINFO() {
        return 20; // struct in6_pktinfo: ipi6_addr, ipi6_ifindex
    }

    private static final ValueLayout.OfShort NET_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt NET_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong NET_LONG = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    // struct sockaddr_in / sockaddr_in6 offsets (checked against the C headers by AbiTest through SockAddr)
    private static final long PORT = 2;
    private static final long IN_ADDR = 4;
    private static final long IN6_ADDR = 8;
    private static final int IN_SIZE = 16;
    private static final int IN6_SIZE = 28;

    private final boolean enabled;
    private final boolean ipv6Socket;
    private final int port;
    private final PeerKey destination = new PeerKey();
    private final MemorySegment scratch = Arena.ofAuto().allocate(SockAddr.STORAGE_SIZE, 8);
    private boolean known;

    /**
     * @param enabled    whether the socket was given IP_PKTINFO (a wildcard bind)
     * @param ipv6Socket whether it is an AF_INET6 socket
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

    /** Reads the destination of the datagram whose control messages are at {@code at}; false when there is none. */
    public boolean observe(MemorySegment control, long at, long length) {
        known = false;
        if (!enabled || length <= 0) {
            return false;
        }
        long v4 = ControlMessages.find(control, at, length, Net.SOL_IP, Net.IP_PKTINFO);
        if (v4 >= 0) {
            int addr = control.get(JAVA_INT_UNALIGNED, v4 + 8); // ipi_addr, network order as stored
            scratch.fill((byte) 0);
            if (ipv6Socket) { // as the socket sees it: ::ffff:a.b.c.d
                scratch.set(JAVA_SHORT, 0, (short) Net.AF_INET6);
                scratch.set(NET_SHORT, PORT, (short) port);
                scratch.set(NET_SHORT, IN6_ADDR + 10, (short) 0xFFFF);
                scratch.set(JAVA_INT_UNALIGNED, IN6_ADDR + 12, addr);
                known = destination.readFrom(scratch, IN6_SIZE);
            } else {
                scratch.set(JAVA_SHORT, 0, (short) Net.AF_INET);
                scratch.set(NET_SHORT, PORT, (short) port);
                scratch.set(JAVA_INT_UNALIGNED, IN_ADDR, addr);
                known = destination.readFrom(scratch, IN_SIZE);
            }
            return known;
        }
        long v6 = ControlMessages.find(control, at, length, Net.SOL_IPV6, Net.IPV6_PKTINFO);
        if (v6 >= 0) {
            scratch.fill((byte) 0);
            scratch.set(JAVA_SHORT, 0, (short) Net.AF_INET6);
            scratch.set(NET_SHORT, PORT, (short) port);
            scratch.set(JAVA_LONG_UNALIGNED, IN6_ADDR, control.get(JAVA_LONG_UNALIGNED, v6));
            scratch.set(JAVA_LONG_UNALIGNED, IN6_ADDR + 8, control.get(JAVA_LONG_UNALIGNED, v6 + 8));
            known = destination.readFrom(scratch, IN6_SIZE);
        }
        return known;
    }

    /** The destination {@link #observe} read, or null. Valid until the next observe. */
    public PeerKey destination() {
        return known ? destination : null;
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
        boolean mapped = from.family() == Net.AF_INET6 && from.hi() == 0 && (from.lo() >>> 32) == 0xFFFFL;
        if (from.family() == Net.AF_INET || mapped) {
            int addr = (int) from.lo(); // the IPv4 address as a number; stored in network order below
            control.set(JAVA_LONG_UNALIGNED, at + MsgLayouts.CMSG_LEN_FIELD, MsgLayouts.cmsgLen(IN_PKTINFO()));
            control.set(JAVA_INT_UNALIGNED, at + MsgLayouts.CMSG_LEVEL, Net.SOL_IP);
            control.set(JAVA_INT_UNALIGNED, at + MsgLayouts.CMSG_TYPE, Net.IP_PKTINFO);
            long d = at + MsgLayouts.CMSG_DATA_OFFSET;
            control.set(JAVA_INT_UNALIGNED, d, 0); // any interface
            control.set(NET_INT, d + 4, addr); // ipi_spec_dst: the source
            control.set(JAVA_INT_UNALIGNED, d + 8, 0);
            return (int) MsgLayouts.cmsgSpace(IN_PKTINFO());
        }
        if (from.family() != Net.AF_INET6) {
            return 0;
        }
        control.set(JAVA_LONG_UNALIGNED, at + MsgLayouts.CMSG_LEN_FIELD, MsgLayouts.cmsgLen(IN6_PKTINFO()));
        control.set(JAVA_INT_UNALIGNED, at + MsgLayouts.CMSG_LEVEL, Net.SOL_IPV6);
        control.set(JAVA_INT_UNALIGNED, at + MsgLayouts.CMSG_TYPE, Net.IPV6_PKTINFO);
        long d = at + MsgLayouts.CMSG_DATA_OFFSET;
        control.set(NET_LONG, d, from.hi());
        control.set(NET_LONG, d + 8, from.lo());
        control.set(JAVA_INT_UNALIGNED, d + 16, from.scopeId());
        return (int) MsgLayouts.cmsgSpace(IN6_PKTINFO());
    }
}
