package dev.abyss.server;

import java.net.SocketAddress;

/**
 * What the kernel said about the datagram being handled, besides its payload: where it was sent to,
 * its ECN bits, when it arrived, whether it came coalesced with others. One small read-only view
 * per acceptor, read from the control messages of the receive; a fact the server was not asked to
 * collect reads as its "unknown" value, and costs nothing.
 *
 * <p>Valid during the callback that handles the datagram ({@link Session#datagram()},
 * {@link Peer#datagram()}): in {@link DispatchMode#INLINE} mode and for a {@link DatagramHandler}
 * it is the acceptor's own view, overwritten by the next datagram; in
 * {@link DispatchMode#VIRTUAL_THREADS} mode a copy travels with the datagram. Datagrams that waited
 * for a place in a full table ({@link ServerConfig.Builder#maxConnectionsRetryCount}) keep only
 * {@link #truncated()}.
 *
 * <p>NIO reads none of it (the JDK's channels do not expose control messages): every fact reads as
 * unknown there.
 */
public interface DatagramInfo {
    /** ECN codepoint: not ECN-capable transport. */
    int NOT_ECT = 0;
    /** ECN codepoint: ECN-capable transport, ECT(1). */
    int ECT_1 = 1;
    /** ECN codepoint: ECN-capable transport, ECT(0). */
    int ECT_0 = 2;
    /** ECN codepoint: congestion experienced. */
    int CE = 3;

    /**
     * {@return the address the datagram was sent to, on a socket bound to a wildcard address
     * (IP_PKTINFO / IPV6_PKTINFO), else null; allocated on each call. A session's replies leave
     * from the address its first datagram came to ({@link Session#localAddress()})}
     */
    SocketAddress destination();

    /** {@return the index of the interface the datagram came in on (IP_PKTINFO), 0 when unknown} */
    int interfaceIndex();

    /**
     * {@return the IPv4 TOS / IPv6 traffic class byte it carried (0..255), -1 unless the server
     * receives it ({@link ServerConfig.Builder#receiveTrafficClass})}
     */
    int trafficClass();

    /** {@return its ECN codepoint ({@link #NOT_ECT}, {@link #ECT_1}, {@link #ECT_0}, {@link #CE}), -1 when unknown} */
    default int ecn() {
        int tc = trafficClass();
        return tc < 0 ? -1 : tc & 3;
    }

    /**
     * {@return when the kernel received it, in nanoseconds since the epoch (CLOCK_REALTIME,
     * SO_TIMESTAMPNS), -1 unless the server asks for timestamps
     * ({@link ServerConfig.Builder#receiveTimestamps}): compare with
     * {@code Instant.now()} to measure how long it waited in the socket}
     */
    long timestampNanos();

    /**
     * {@return the segment size of the coalesced (GRO) receive it was split from, 0 when it arrived
     * on its own}
     */
    int segmentSize();

    /** {@return true when it was cut to maxDatagramSize (delivered because the policy is DELIVER)} */
    boolean truncated();

    /**
     * {@return the TTL (IPv4) or hop limit (IPv6) it arrived with, 0..255, -1 unless the server
     * receives it ({@link UdpOption#RECEIVE_TTL}: IP_RECVTTL / IPV6_RECVHOPLIMIT) on EPOLL or
     * IO_URING}: for GTSM-style checks (RFC 5082), where a neighbour sends with 255 and anything
     * less came from further away
     */
    default int ttl() {
        return -1;
    }
}
