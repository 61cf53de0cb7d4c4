package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

/**
 * An acceptor's socket I/O: one bound socket, a way to wait for it (and for wake-ups from other
 * threads), batched receive and batched send. Sessions, dispatch and timers sit above this and do
 * not change with the transport.
 */
interface Transport extends AutoCloseable {

    /** Receives datagrams for the acceptor. {@code data} is valid only during the call. */
    interface Sink {
        void onDatagram(PeerKey peer, MemorySegment data, boolean truncated);
    }

    /** Wait result bits of {@link #await}. */
    int READABLE = 1;
    int WOKEN = 2;

    SocketAddress localAddress();

    /** Waits up to {@code timeoutMillis} (-1 forever); returns READABLE/WOKEN bits, 0 on timeout. */
    int await(int timeoutMillis);

    /** One receive batch into {@code sink}; returns datagrams received, 0 when none, or {@code -errno}. */
    int receive(Sink sink);

    /**
     * Queues a datagram to {@code peer} on behalf of {@code session} (null when it has ended: the
     * datagram still goes out); sends the batch first when it is full. False when nothing can be
     * queued (the kernel's send buffer and the batch are full). Owner thread only.
     */
    boolean send(SessionImpl session, PeerKey peer, MemorySegment data, long offset, int length, SendResult result);

    /** How many datagrams {@link #send} can take now without refusing (flushing first when the batch is full). */
    int sendRoom(SendResult result);

    /** Sends everything queued. */
    void flush(SendResult result);

    /** Wakes {@link #await} from any thread. */
    void wakeup();

    /** Stops reporting the socket as readable (stop receiving; sending still works). */
    void stopReceiving();

    @Override
    void close();

    /** True once {@link #close()} freed the socket and its buffers. */
    boolean isClosed();

    /** Told how each queued datagram ended. */
    interface SendResult {
        /** The kernel took the {@code bytes} at {@code offset} in {@code buffer} for {@code session} (null when it had ended). */
        void sent(SessionImpl session, MemorySegment buffer, long offset, int bytes);

        /** The kernel refused the datagram with {@code errno}; it is not retried. */
        void failed(SessionImpl session, MemorySegment buffer, long offset, int bytes, int errno);
    }
}
