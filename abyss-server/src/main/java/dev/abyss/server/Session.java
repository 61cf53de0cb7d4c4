package dev.abyss.server;

import java.lang.foreign.MemorySegment;
import java.time.Duration;

/**
 * One remote peer (address and port) on one listener, with a lifecycle and a state: the Java form
 * of the original's connection. Everything about sending is the {@link Peer} API it extends.
 *
 * <p>{@code send}, {@code post} and {@code close} may be called from any thread and never block.
 * A session stays valid after it ends: sends then return {@link SendResult#CLOSED}.
 */
public interface Session extends Peer {

    /**
     * Delivers {@code message} to {@link Handler#handleMessage}.
     *
     * @param message the message
     * @return false when the session ended or its queue is full (counted in {@link ServerStats#postQueueFull()})
     * @throws IllegalStateException when the server runs a {@link SegmentHandler}, which has no messages
     */
    boolean post(Object message);

    /**
     * The reference's {@code recv/3}: waits up to {@code timeout} for the peer's next datagram and
     * returns it to the caller instead of {@link Handler#handleData}, for a handler that reads a reply
     * in the middle of a callback (a handshake, a request and its answer). The datagram is a read-only
     * copy the caller may keep; it is counted as received. Messages posted meanwhile stay queued for
     * {@link Handler#handleMessage}. {@link DispatchMode#VIRTUAL_THREADS} only, from the session's own
     * callback thread.
     *
     * @param timeout how long to wait, positive
     * @return the datagram, or null when none came in time, or when the session is asked to end
     *         meanwhile (close, shutdown, eviction): the end then happens when the callback returns
     * @throws IllegalStateException    in {@link DispatchMode#INLINE} mode (the acceptor thread must not
     *                                  block), for a {@link SegmentHandler}, or off the session's thread
     * @throws IllegalArgumentException when {@code timeout} is not positive
     * @throws InterruptedException     when the thread is interrupted while waiting (a stop past its deadline)
     */
    MemorySegment receive(Duration timeout) throws InterruptedException;

    /** Ends the session without a terminal callback. Idempotent; callable from any thread. */
    void close();

    /** {@return true until the session ends} */
    boolean isOpen();

    /**
     * {@return what the DTLS handshake agreed (protocol, cipher suite, the client's certificates, ALPN),
     * or empty on a server without {@link ServerConfig.Builder#dtls DTLS}} Known from
     * {@code handleConnection} on: a DTLS session reaches the handler only once its handshake completed.
     */
    default java.util.Optional<Negotiated> negotiated() {
        return java.util.Optional.empty();
    }

    /** {@return payload bytes received from the peer} */
    long receivedBytes();

    /** {@return datagrams received from the peer} */
    long receivedPackets();

    /** {@return payload bytes sent to the peer} */
    long sentBytes();

    /** {@return datagrams sent to the peer} */
    long sentPackets();
}
