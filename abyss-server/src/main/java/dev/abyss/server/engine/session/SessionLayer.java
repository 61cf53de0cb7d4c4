package dev.abyss.server.engine.session;

import dev.abyss.server.SendResult;

import java.lang.foreign.MemorySegment;

/**
 * The seam between the dispatcher and the handler, per session: a layer that transforms datagrams
 * both ways and holds the handler back until it is ready. DTLS will be one (records in, plaintext
 * out, a handshake before {@code handleConnection}); the engine does not know which.
 *
 * <p>On the way in, the dispatcher hands every datagram of the session to {@link #unwrap} on the
 * session's callback thread; what it returns (if anything) goes to {@code handleData}. The first
 * time {@link #ready()} is true after an unwrap, {@code handleConnection} runs, before that
 * datagram's plaintext. On the way out, everything the handler sends goes through {@link #wrap},
 * which sends the protected form with the {@link Wire}. A layer may also send on its own (a
 * handshake flight, an alert) through the wire it was opened with. A session whose layer never
 * becomes ready ends as any other (idle timeout, stop) without any handler callback: the handler
 * never saw it.
 *
 * <p>The layer owns its own resource limits: memory per session and what it answers to a peer
 * whose address is not yet validated are for it to bound and count.
 */
public interface SessionLayer {

    /** Opens the layer of each new session, before its first datagram is unwrapped. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param wire how this session's layer sends raw datagrams to the peer
         * @return the session's layer, or null to serve it without one
         */
        SessionLayer open(Wire wire);
    }

    /** The raw send path of one session: the acceptor's outbound path, with nothing transformed. */
    @FunctionalInterface
    interface Wire {
        SendResult send(MemorySegment data, long offset, long length);
    }

    /**
     * A datagram from the peer (a read-only view, valid during the call). Returns the plaintext for
     * the handler (valid until the handler returns), or null when the layer kept it (handshake,
     * retransmission, a record it refused and counted). A throw ends the session in error.
     */
    MemorySegment unwrap(MemorySegment datagram);

    /** True once the handler may see the session: {@code handleConnection} is held back until then. */
    boolean ready();

    /**
     * Plaintext the handler sends ({@code length} bytes at {@code offset}, any thread the session may
     * send from): sends its protected form with the layer's {@link Wire} and returns what that send
     * returned.
     */
    SendResult wrap(MemorySegment plaintext, long offset, long length);

    /**
     * The session has ended (once, on the thread that ended it): stop timers, free what the layer
     * holds. Its wire refuses sends from now on ({@link SendResult#CLOSED}).
     */
    default void closed() {
    }
}
