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

    /** Sends {@code data} (its whole size) as one datagram to this peer. */
    boolean send(MemorySegment data);

    /** Sends {@code length} bytes of {@code data} from {@code offset}: no slice needed. */
    boolean send(MemorySegment data, long offset, long length);

    boolean send(byte[] data);

    /** Sends the remaining bytes of {@code data}; its position is not changed. */
    boolean send(ByteBuffer data);

    /**
     * The peer's address as a durable value (allocated on each call), for replies later or from
     * another thread through {@link Server#send(SocketAddress, MemorySegment)}.
     */
    SocketAddress address();

    /** True when the datagram was cut to maxDatagramSize (delivered because the policy is DELIVER). */
    boolean truncated();
}
