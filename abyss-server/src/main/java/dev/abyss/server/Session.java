package dev.abyss.server;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * One remote peer (address and port) on one listener: the Java form of the original's connection.
 *
 * <p>{@code send} and {@code post} may be called from any thread. On the session's own callback
 * thread a send is batched with the others of the same receive batch; from another thread it is
 * queued to the session's acceptor. A send that cannot be queued returns false and is counted in
 * {@link ServerStats#sendQueueFull()} (or fails for a closed session); it never blocks.
 */
public interface Session {

    /** {@return the peer's address ({@link java.net.InetSocketAddress} or {@link java.net.UnixDomainSocketAddress})} */
    SocketAddress remoteAddress();

    /**
     * {@return the server address the peer talks to: on a wildcard bind (0.0.0.0, ::) the address its
     * datagrams were sent to (IP_PKTINFO), which is also the source of the replies; else the bound
     * address (NIO: always the bound address)}
     */
    SocketAddress localAddress();

    /**
     * Sends {@code data} (its whole size) as one datagram to the peer.
     *
     * @param data the payload
     * @return false when it could not be queued (counted) or the session is closed
     */
    boolean send(MemorySegment data);

    /**
     * Sends {@code length} bytes of {@code data} from {@code offset} as one datagram to the peer:
     * no slice (and so no object) per reply.
     *
     * @param data   the buffer holding the payload
     * @param offset where the payload starts in {@code data}
     * @param length the payload's length
     * @return false when it could not be queued (counted) or the session is closed
     */
    boolean send(MemorySegment data, long offset, long length);

    /**
     * Sends {@code data} as one datagram to the peer.
     *
     * @param data the payload
     * @return false when it could not be queued (counted) or the session is closed
     */
    boolean send(byte[] data);

    /**
     * Sends the remaining bytes of {@code data}; its position is not changed. On the acceptor
     * thread (INLINE callbacks) nothing is allocated; from other threads the buffer is wrapped.
     *
     * @param data the payload
     * @return false when it could not be queued (counted) or the session is closed
     */
    boolean send(ByteBuffer data);

    /**
     * Sends {@code length} bytes of {@code data} from {@code offset} as consecutive datagrams of
     * {@code segmentSize} bytes each (the last one shorter when {@code length} is not a multiple):
     * a bulk reply in one call. With {@link ServerConfig.Builder#gso GSO} on a native transport they
     * leave in as few kernel sends as the kernel allows (UDP_SEGMENT: up to 64 segments and 64 KiB
     * per send); otherwise as separate datagrams. Each datagram is counted as one.
     *
     * @param data        the buffer holding the payload
     * @param offset      where it starts in {@code data}
     * @param length      its length in bytes
     * @param segmentSize bytes per datagram, 1..65507
     * @return datagrams queued, always the leading ones: when one is refused (the queue is full) it
     *         and every later one are counted in {@link ServerStats#sendQueueFull()} and not sent, so
     *         a caller may resume at {@code offset + queued * segmentSize}; 0 when the session is closed
     * @throws IllegalArgumentException when {@code segmentSize} is out of range
     */
    int sendSegments(MemorySegment data, long offset, long length, int segmentSize);

    /**
     * Sets the IPv4 TOS / IPv6 traffic class byte of the datagrams this session sends from now on
     * (its low two bits are the ECN codepoint, e.g. {@link DatagramInfo#ECT_0}); -1 restores the
     * socket's default. Native transports only (NIO sends with the default).
     *
     * @param trafficClass 0..255, or -1
     * @throws IllegalArgumentException when it is out of range
     */
    void setTrafficClass(int trafficClass);

    /**
     * {@return the traffic class set by {@link #setTrafficClass}, -1 for the socket's default (the
     * socket's is 0: setting 0 reads back as -1, with the same effect)}
     */
    int trafficClass();

    /**
     * {@return what the kernel said about the datagram being handled (its destination, ECN,
     * receive time, GRO segment size): valid during {@link Handler#handleConnection} and
     * {@link Handler#handleData} (and a {@link SegmentHandler}'s call); outside them every fact
     * reads as unknown}
     */
    DatagramInfo datagram();

    /**
     * A 64 KiB buffer of the acceptor this session runs on, for building replies without
     * allocating (no ThreadLocal needed): valid during an INLINE callback on the acceptor thread,
     * shared by every session of that acceptor, overwritten by the next callback. Send from it with
     * {@link #send(MemorySegment, long, long)}.
     *
     * @return the acceptor's scratch buffer
     * @throws IllegalStateException when called off the acceptor thread (e.g. from a virtual-thread session)
     */
    MemorySegment scratch();

    /**
     * Delivers {@code message} to {@link Handler#handleMessage}.
     *
     * @param message the message
     * @return false when the session ended or its queue is full (counted in {@link ServerStats#droppedMailboxFull()})
     * @throws IllegalStateException when the server runs a {@link SegmentHandler}, which has no messages
     */
    boolean post(Object message);

    /** Ends the session without a terminal callback. Idempotent; callable from any thread. */
    void close();

    /** {@return true until the session ends} */
    boolean isOpen();

    /**
     * {@return true while handling a datagram the kernel cut to maxDatagramSize, delivered because the
     * truncation policy is {@link TruncationPolicy#DELIVER}}
     */
    boolean lastDatagramTruncated();

    /** {@return payload bytes received from the peer} */
    long receivedBytes();

    /** {@return datagrams received from the peer} */
    long receivedPackets();

    /** {@return payload bytes sent to the peer} */
    long sentBytes();

    /** {@return datagrams sent to the peer} */
    long sentPackets();
}
