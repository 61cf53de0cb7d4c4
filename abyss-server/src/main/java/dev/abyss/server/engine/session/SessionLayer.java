package dev.abyss.server.engine.session;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.Negotiated;
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

        /**
         * Once per acceptor, before it runs: the factory that acceptor's sessions are opened by (a
         * layer may bound per acceptor what it holds). Default: this one, shared.
         *
         * @param acceptor the acceptor's stateless reply path and counters
         */
        default Factory forAcceptor(Acceptor acceptor) {
            return this;
        }

        /**
         * Before any per-peer state, on the acceptor thread: a datagram from {@code peer}, which has
         * no session. True admits it (a session is opened if the table has room); false means the
         * factory dealt with it: answered statelessly through {@link Acceptor#reply}, or dropped and
         * counted. Nothing of the peer may be kept. Default: every peer is admitted.
         *
         * @param arrivedAt where it was sent to on a wildcard socket (replies leave from it), or null
         */
        default boolean admits(PeerKey peer, PeerKey arrivedAt, MemorySegment datagram) {
            return true;
        }
    }

    /** What a factory sees of one acceptor. */
    interface Acceptor {
        /** Sends a datagram to a peer without a session (a stateless answer); any thread. */
        SendResult reply(PeerKey to, PeerKey from, MemorySegment data, long offset, long length);

        /** Counts one event under {@code counter} ({@code engine.telemetry.Counters} layout); any thread. */
        void count(int counter);
    }

    /** {@link #timerNanos()} when the layer wants no timer. */
    long NO_TIMER = Long.MAX_VALUE;

    /**
     * Thrown by {@link #unwrap}: the peer ended the session (a close_notify). It ends as
     * {@code handleClose} when the handler saw it, silently otherwise.
     */
    final class PeerClosed extends RuntimeException {
        public PeerClosed(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Thrown by {@link #unwrap} or {@link #onTimer}: the layer failed (a handshake that failed or
     * timed out). The session ends with {@code handleError(getCause())}, even when the handler has
     * not seen it yet: its only callback.
     */
    final class Failed extends RuntimeException {
        public Failed(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /** The raw send path of one session: the acceptor's outbound path, with nothing transformed. */
    @FunctionalInterface
    interface Wire {
        SendResult send(MemorySegment data, long offset, long length);

        /** {@return the session's peer (read only; do not keep a copy of the key), or null when unknown} */
        default PeerKey peer() {
            return null;
        }

        /**
         * The layer proved the peer receives at its address (a DTLS cookie): from now on it is no
         * forged source. Where amplification limits for unvalidated peers lift.
         */
        default void validated() {
        }
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

    /**
     * The session is about to end on this side (close, timeout, shutdown, eviction, a handler's
     * close or error), while its wire still sends: the layer may say goodbye (a close_notify). Not
     * called when the layer itself ended it ({@link PeerClosed}, {@link Failed}). May be called
     * more than once when two threads end the session at the same moment.
     */
    default void closing() {
    }

    /**
     * {@return System.nanoTime at which the layer wants {@link #onTimer} on the session's callback
     * thread, or {@link #NO_TIMER}} Read after every unwrap and timer; a handshake's retransmission
     * and its timeout are timers.
     */
    default long timerNanos() {
        return NO_TIMER;
    }

    /** Its timer is due (session's callback thread). A throw ends the session ({@link Failed}: handleError). */
    default void onTimer(long now) {
    }

    /** {@return what the layer negotiated, once ready, else null} */
    default Negotiated negotiated() {
        return null;
    }
}
