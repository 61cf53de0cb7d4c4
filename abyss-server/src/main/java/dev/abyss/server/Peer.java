package dev.abyss.server;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * The sender of the datagram a {@link DatagramHandler} is handling: a reply handle, reused for every
 * datagram, valid only during the callback (using it afterwards throws IllegalStateException).
 * Replies join the acceptor's send batch, as a session's do. A send that cannot be queued returns
 * false and is counted in {@link ServerStats#sendQueueFull()}.
 */
public interface Peer {

    /**
     * Sends {@code data} (its whole size) as one datagram to this peer.
     *
     * @param data the payload
     * @return false when it could not be queued (counted in {@link ServerStats#sendQueueFull()})
     */
    boolean send(MemorySegment data);

    /**
     * Sends {@code length} bytes of {@code data} from {@code offset}: no slice needed.
     *
     * @param data   holds the payload
     * @param offset where the payload starts in {@code data}
     * @param length the payload's length
     * @return false when it could not be queued (counted in {@link ServerStats#sendQueueFull()})
     */
    boolean send(MemorySegment data, long offset, long length);

    /**
     * Sends {@code data} as one datagram to this peer.
     *
     * @param data the payload
     * @return false when it could not be queued (counted in {@link ServerStats#sendQueueFull()})
     */
    boolean send(byte[] data);

    /**
     * Sends the remaining bytes of {@code data}; its position is not changed.
     *
     * @param data the payload
     * @return false when it could not be queued (counted in {@link ServerStats#sendQueueFull()})
     */
    boolean send(ByteBuffer data);

    /**
     * Sends {@code length} bytes of {@code data} from {@code offset} as consecutive datagrams of
     * {@code segmentSize} bytes (the last one shorter): see
     * {@link Session#sendSegments(MemorySegment, long, long, int)}.
     *
     * @param data        the buffer holding the payload
     * @param offset      where it starts in {@code data}
     * @param length      its length in bytes
     * @param segmentSize bytes per datagram, 1..65507
     * @return datagrams queued, always the leading ones: when one is refused (the queue is full) it
     *         and every later one are counted in {@link ServerStats#sendQueueFull()} and not sent
     * @throws IllegalArgumentException when {@code segmentSize} is out of range
     */
    int sendSegments(MemorySegment data, long offset, long length, int segmentSize);

    /**
     * Sets the IPv4 TOS / IPv6 traffic class byte of the replies sent during this callback (ECN in
     * its low two bits); each datagram's callback starts with the socket's default (-1).
     *
     * @param trafficClass 0..255, or -1 for the socket's default
     * @throws IllegalArgumentException when it is out of range
     */
    void setTrafficClass(int trafficClass);

    /** {@return what the kernel said about this datagram (destination, ECN, receive time, GRO segment size)} */
    DatagramInfo datagram();

    /**
     * The peer's address as a durable value (allocated on each call), for replies later or from
     * another thread through {@link Server#send(SocketAddress, MemorySegment)}.
     *
     * @return the address
     */
    SocketAddress address();

    /**
     * A 64 KiB buffer of the acceptor, for building replies without allocating: valid during the
     * callback, shared by every datagram of that acceptor. Send from it with
     * {@link #send(MemorySegment, long, long)}.
     *
     * @return the acceptor's scratch buffer
     */
    MemorySegment scratch();

    /** {@return true when the datagram was cut to maxDatagramSize (delivered because the policy is DELIVER)} */
    boolean truncated();
}
