package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramInfo;

import java.net.SocketAddress;

/**
 * What a transport knows about the datagram it hands to {@link Transport.ReceiveSink#onDatagram},
 * as an argument of that call and valid during it only: the public {@link DatagramInfo} facts plus
 * the destination as a {@link PeerKey}, the source of the replies. The engine cannot tell where
 * they came from:
 * <ul>
 *   <li>EPOLL and IO_URING read them from the control messages of the receive
 *       ({@link ReceivedDatagram}: IP_PKTINFO, IP_TOS / IPV6_TCLASS, SO_TIMESTAMPNS, UDP_GRO);</li>
 *   <li>NIO knows only truncation ({@link #of(boolean)});</li>
 *   <li>a transport that owns frames rather than a socket (AF_XDP) reads them from the headers it
 *       parses anyway: the destination address and port from the IP and UDP headers, the traffic
 *       class from the TOS / traffic-class byte, the time from the frame's metadata (or -1), the
 *       interface from its queue's device; it never coalesces (segment size 0), and marks a frame
 *       cut to maxDatagramSize truncated.</li>
 * </ul>
 * A transport keeps one mutable instance and rewrites it per datagram, so nothing is allocated: a
 * sink that keeps any fact past the call copies it.
 */
public interface DatagramFacts extends DatagramInfo {

    /** Nothing known, not truncated (outside a callback, or a transport that reads nothing). */
    DatagramFacts NONE = new Known(false);
    /** Nothing known but that the datagram was truncated. */
    DatagramFacts TRUNCATED = new Known(true);

    /** {@return {@link #TRUNCATED} or {@link #NONE}} */
    static DatagramFacts of(boolean truncated) {
        return truncated ? TRUNCATED : NONE;
    }

    /**
     * {@return where the datagram was sent to, on a socket bound to a wildcard address, else null;
     * rewritten by the next datagram: copy it to keep it}
     */
    PeerKey destinationKey();

    /** Facts of a datagram whose control messages are gone (or never read): only its truncation. */
    record Known(boolean truncated) implements DatagramFacts {
        @Override
        public PeerKey destinationKey() {
            return null;
        }

        @Override
        public SocketAddress destination() {
            return null;
        }

        @Override
        public int interfaceIndex() {
            return 0;
        }

        @Override
        public int trafficClass() {
            return -1;
        }

        @Override
        public long timestampNanos() {
            return -1;
        }

        @Override
        public int segmentSize() {
            return 0;
        }
    }
}
