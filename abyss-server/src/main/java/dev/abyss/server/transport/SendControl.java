package dev.abyss.server.transport;

import dev.abyss.ffi.net.ControlMessages;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The control messages of a send, in the one order both native transports use: the source address
 * (IP_PKTINFO / IPV6_PKTINFO, {@link ArrivalAddress}), the traffic class (IP_TOS / IPV6_TCLASS),
 * and last the GSO segment size (UDP_SEGMENT), last so that dropping it is shortening
 * {@code msg_controllen} by {@link #SEGMENT_SPACE}. Owner thread only.
 */
public final class SendControl {
    /** Bytes of UDP_SEGMENT control message ({@code uint16} of data). */
    public static final int SEGMENT_SPACE = (int) MsgLayouts.cmsgSpace(2);
    /** Control space a send needs for all of them. */
    public static final int SPACE = ArrivalAddress.SEND_SPACE + (int) MsgLayouts.cmsgSpace(4) + SEGMENT_SPACE;

    private final ArrivalAddress arrival;
    private final boolean ip;

    /**
     * @param arrival writes the source address (wildcard binds)
     * @param ip      false for an AF_UNIX socket: it has no traffic class, and no control space for one
     */
    public SendControl(ArrivalAddress arrival, boolean ip) {
        this.arrival = arrival;
        this.ip = ip;
    }

    /**
     * Writes at {@code at} the control messages that send to {@code to} from {@code from} (null:
     * the route's source) with {@code trafficClass} (-1: the socket's); returns their length.
     */
    public int write(PeerKey to, PeerKey from, int trafficClass, MemorySegment control, long at) {
        int length = from == null ? 0 : arrival.writeSource(from, control, at);
        if (trafficClass >= 0 && ip) {
            // a v4-mapped peer of a dual-stack socket is sent to by the IPv4 stack, which reads only SOL_IP
            boolean v4 = to.family() == Net.AF_INET || to.isV4Mapped();
            long data = ControlMessages.write(control, at + length, v4 ? Net.SOL_IP : Net.SOL_IPV6,
                    v4 ? Net.IP_TOS : Net.IPV6_TCLASS, 4);
            control.set(JAVA_INT_UNALIGNED, data, trafficClass);
            length += (int) MsgLayouts.cmsgSpace(4);
        }
        return length;
    }

    /** Appends at {@code at} a UDP_SEGMENT message: the kernel cuts the payload into {@code size}-byte datagrams. */
    public static int writeSegment(MemorySegment control, long at, int size) {
        long data = ControlMessages.write(control, at, Net.SOL_UDP, Net.UDP_SEGMENT, 2);
        control.set(JAVA_SHORT_UNALIGNED, data, (short) size);
        return SEGMENT_SPACE;
    }
}
