package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.transport.DatagramFacts;

import java.net.SocketAddress;

/**
 * What {@link FrameParser#parse} read from a frame it found {@link FrameCheck#OK}: where the UDP
 * payload is, who sent it (as the session table keys peers), where it was sent to, the traffic class,
 * and the layer-2 hop to answer through. It is also the {@link DatagramFacts} handed to the engine,
 * giving the facts the socket transports give under the same settings (see {@link FrameParser}):
 * the destination and interface only on a wildcard bind (as IP_PKTINFO), the traffic class only
 * when asked for (as IP_RECVTOS), no kernel time (-1), never coalesced (segment size 0), truncated
 * when the payload was cut to maxDatagramSize. One per acceptor, rewritten for every frame: a caller
 * that keeps a fact past the next parse copies it. Owner thread only.
 */
public final class ReceivedFrame implements DatagramFacts {
    final PeerKey source = new PeerKey();
    final PeerKey destination = new PeerKey();
    final NextHop hop = new NextHop();
    boolean reportDestination;
    boolean reportTrafficClass;
    int interfaceIndex;
    int trafficClass;
    boolean truncated;
    long payloadOffset;
    int payloadLength;
    int ipVersion;
    long ipOffset;
    long udpOffset;
    int hopLimit;

    /** {@return the sender (address and port), keyed as the socket would key it (v4-mapped on a dual-stack bind)} */
    public PeerKey source() {
        return source;
    }

    /** {@return the address and port the datagram was sent to (always read, whatever the bind)} */
    public PeerKey destinationAddress() {
        return destination;
    }

    /** {@return the layer-2 hop a reply goes through: the frame's MACs swapped, its 802.1Q tag} */
    public NextHop hop() {
        return hop;
    }

    /** {@return the payload's offset in the parsed segment (absolute, not from the frame's start)} */
    public long payloadOffset() {
        return payloadOffset;
    }

    /** {@return the payload's length delivered (cut to maxDatagramSize when {@link #truncated()})} */
    public int payloadLength() {
        return payloadLength;
    }

    /** {@return 4 or 6} */
    public int ipVersion() {
        return ipVersion;
    }

    /** {@return the IP header's offset in the parsed segment} */
    public long ipOffset() {
        return ipOffset;
    }

    /** {@return the UDP header's offset in the parsed segment} */
    public long udpOffset() {
        return udpOffset;
    }

    /** {@return the TOS / traffic-class byte as received (DSCP and ECN), whatever the settings} */
    public int receivedTrafficClass() {
        return trafficClass;
    }

    /** {@return the TTL / hop limit the frame arrived with} */
    public int receivedHopLimit() {
        return hopLimit;
    }

    @Override
    public PeerKey destinationKey() {
        return reportDestination ? destination : null;
    }

    @Override
    public SocketAddress destination() {
        return reportDestination ? destination.toSocketAddress() : null;
    }

    @Override
    public int interfaceIndex() {
        return reportDestination ? interfaceIndex : 0;
    }

    @Override
    public int trafficClass() {
        return reportTrafficClass ? trafficClass : -1;
    }

    @Override
    public long timestampNanos() {
        return -1;
    }

    @Override
    public int segmentSize() {
        return 0;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }

    @Override
    public String toString() {
        return "ReceivedFrame[from=" + source + ", to=" + destination + ", trafficClass=" + trafficClass + ", payload="
                + payloadLength + (truncated ? " (truncated)" : "") + ", " + hop + "]";
    }
}
