package dev.abyss.server.transport;

import dev.abyss.ffi.net.ControlMessages;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The facts of the datagram a transport is delivering, read from its control messages in one walk:
 * the SO_RXQ_OVFL drop count (reported to the {@link DropCounter}), the destination and interface
 * (IP_PKTINFO / IPV6_PKTINFO, see {@link ArrivalAddress}), the TOS / traffic class (IP_TOS /
 * IPV6_TCLASS), the kernel's receive time (SO_TIMESTAMPNS) and the GRO segment size (UDP_GRO).
 * One per transport, rewritten for every datagram and handed to the sink as the
 * {@link DatagramFacts} of its {@link Transport.ReceiveSink#onDatagram} call: nothing is allocated
 * per datagram. Owner thread only.
 */
public final class ReceivedDatagram implements DatagramFacts {
    /**
     * Control space a receive offers for all of it (each message only when its option is on): the
     * drop count, both pktinfos, TOS and traffic class, a timespec, the GRO size.
     */
    public static final int CONTROL_SPACE = (int) (MsgLayouts.cmsgSpace(4) + ArrivalAddress.RECEIVE_SPACE
            + MsgLayouts.cmsgSpace(4) + MsgLayouts.cmsgSpace(4) + MsgLayouts.cmsgSpace(16) + MsgLayouts.cmsgSpace(4)
            + MsgLayouts.cmsgSpace(4)); // the received TTL / hop limit (UdpOption.RECEIVE_TTL)

    private final ArrivalAddress arrival;
    private final DropCounter drops;
    private final boolean trafficClassOn;
    private final boolean timestampsOn;
    private int interfaceIndex;
    private int trafficClass = -1;
    private long timestamp = -1;
    private int segmentSize;
    private boolean truncated;
    private int ttl = -1;

    /**
     * @param arrival        reads destinations (enabled on wildcard binds)
     * @param drops          told the drop counts
     * @param trafficClassOn whether the socket was asked for IP_RECVTOS / IPV6_RECVTCLASS
     * @param timestampsOn   whether it was asked for SO_TIMESTAMPNS
     */
    public ReceivedDatagram(ArrivalAddress arrival, DropCounter drops, boolean trafficClassOn, boolean timestampsOn) {
        this.arrival = arrival;
        this.drops = drops;
        this.trafficClassOn = trafficClassOn;
        this.timestampsOn = timestampsOn;
    }

    /**
     * Starts the next datagram: reads the {@code length} control bytes at {@code at} (0 when it
     * carried none). The GRO segment size it reads ({@link #groSegmentSize()}) is for the
     * transport to split the datagram by.
     */
    public void read(MemorySegment control, long at, long length, boolean truncated) {
        plain(truncated);
        if (length <= 0) {
            return;
        }
        long end = at + length;
        for (long p = ControlMessages.next(control, at, end, true); p >= 0; p = ControlMessages.next(control, p, end, false)) {
            int level = ControlMessages.level(control, p);
            int type = ControlMessages.type(control, p);
            long data = p + MsgLayouts.CMSG_DATA_OFFSET;
            if (level == Net.SOL_SOCKET) {
                if (type == Net.SO_RXQ_OVFL) {
                    drops.report(Integer.toUnsignedLong(control.get(JAVA_INT_UNALIGNED, data)));
                } else if (type == Net.SO_TIMESTAMPNS) {
                    timestamp = control.get(JAVA_LONG_UNALIGNED, data) * 1_000_000_000L
                            + control.get(JAVA_LONG_UNALIGNED, data + 8);
                }
            } else if (level == Net.SOL_IP) {
                if (type == Net.IP_PKTINFO && arrival.enabled()) {
                    arrival.readInet4(control, data);
                    interfaceIndex = control.get(JAVA_INT_UNALIGNED, data); // ipi_ifindex
                } else if (type == Net.IP_TOS) {
                    trafficClass = control.get(JAVA_BYTE, data) & 0xFF; // one byte on receive
                } else if (type == Net.IP_TTL) { // IP_RECVTTL: an int
                    ttl = control.get(JAVA_INT_UNALIGNED, data) & 0xFF;
                }
            } else if (level == Net.SOL_IPV6) {
                if (type == Net.IPV6_PKTINFO && arrival.enabled()) {
                    arrival.readInet6(control, data);
                    interfaceIndex = control.get(JAVA_INT_UNALIGNED, data + MsgLayouts.IPI6_IFINDEX);
                } else if (type == Net.IPV6_TCLASS) {
                    trafficClass = control.get(JAVA_INT_UNALIGNED, data) & 0xFF;
                } else if (type == Net.IPV6_HOPLIMIT) { // IPV6_RECVHOPLIMIT: an int
                    ttl = control.get(JAVA_INT_UNALIGNED, data) & 0xFF;
                }
            } else if (level == Net.SOL_UDP && type == Net.UDP_GRO) {
                segmentSize = control.get(JAVA_INT_UNALIGNED, data) & 0xFFFF;
            }
        }
    }

    /** Starts a datagram that carried no control messages (or a transport that reads none). */
    public void plain(boolean truncated) {
        this.truncated = truncated;
        segmentSize = 0;
        interfaceIndex = 0;
        trafficClass = -1;
        timestamp = -1;
        ttl = -1;
        arrival.clear();
    }

    /** The GRO segment size {@link #read} found: 0 when the datagram arrived on its own. */
    public int groSegmentSize() {
        return segmentSize;
    }

    /**
     * A GRO split ({@link GroSplit}): whether the part being delivered is cut (only the last part
     * can be; the others arrived whole).
     */
    void truncatedPart(boolean truncated) {
        this.truncated = truncated;
    }

    @Override
    public PeerKey destinationKey() {
        return arrival.destination();
    }

    @Override
    public SocketAddress destination() {
        PeerKey d = arrival.headerDestination();
        return d == null ? null : d.toSocketAddress();
    }

    @Override
    public int interfaceIndex() {
        return interfaceIndex;
    }

    @Override
    public int trafficClass() {
        return trafficClassOn ? trafficClass : -1;
    }

    @Override
    public long timestampNanos() {
        return timestampsOn ? timestamp : -1;
    }

    @Override
    public int ttl() {
        return ttl;
    }

    @Override
    public int segmentSize() {
        return segmentSize;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }

    @Override
    public String toString() {
        return "DatagramInfo[destination=" + arrival.destination() + ", interface=" + interfaceIndex + ", trafficClass="
                + trafficClass() + ", ttl=" + ttl + ", timestampNanos=" + timestampNanos() + ", segmentSize=" + segmentSize
                + ", truncated=" + truncated + "]";
    }
}
