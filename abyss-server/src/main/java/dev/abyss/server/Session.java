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

    /** The peer's address ({@link java.net.InetSocketAddress} or {@link java.net.UnixDomainSocketAddress}). */
    SocketAddress remoteAddress();

    /** The server address the peer talks to. */
    SocketAddress localAddress();

    /** Sends {@code data} (its whole size) as one datagram to the peer. */
    boolean send(MemorySegment data);

    boolean send(byte[] data);

    /** Sends the remaining bytes of {@code data}; its position is not changed. */
    boolean send(ByteBuffer data);

    /**
     * Delivers {@code message} to {@link Handler#handleMessage}; false when the session ended or its
     * queue is full (counted in {@link ServerStats#droppedMailboxFull()}).
     *
     * @throws IllegalStateException when the server runs a {@link SegmentHandler}, which has no messages
     */
    boolean post(Object message);

    /** Ends the session without a terminal callback. Idempotent; callable from any thread. */
    void close();

    boolean isOpen();

    /**
     * True while handling a datagram the kernel cut to maxDatagramSize, delivered because the
     * truncation policy is {@link TruncationPolicy#DELIVER}.
     */
    boolean lastDatagramTruncated();

    long receivedBytes();

    long receivedPackets();

    long sentBytes();

    long sentPackets();
}
