package dev.abyss.server;

import java.lang.foreign.MemorySegment;

/**
 * The application side of an Abyss server: callbacks for one session, that is one remote peer
 * (address and port). The Java form of {@code Abyss.Handler}.
 *
 * <p>One handler instance serves every session; per-session data lives in the state {@code S},
 * which each callback receives and replaces by returning a {@link HandlerResult}. Callbacks of one
 * session never run concurrently and see datagrams in arrival order; callbacks of different
 * sessions may run on different threads, so the handler itself must be thread-safe (a stateless
 * handler is).
 *
 * <p>Order of calls for a session: {@link #handleConnection} on its first datagram, then (if it
 * continued) {@link #handleData} with that datagram and every later one, and {@link #handleMessage}
 * for messages {@linkplain Session#post posted} to it. Exactly one terminal callback ends it:
 * <ul>
 *   <li>{@link #handleClose} after a callback returned {@link HandlerResult.Close};</li>
 *   <li>{@link #handleError} after {@link HandlerResult.Failure}, or when a callback threw or returned
 *       null (the reason is the exception);</li>
 *   <li>{@link #handleTimeout} when the session was idle longer than its timeout;</li>
 *   <li>{@link #handleShutdown} when the server stops and the session outlived the shutdown timeout.</li>
 * </ul>
 * {@link Session#close()} called by the application ends the session with no terminal callback,
 * as in the original. Every method has a default, so a handler implements only what it needs.
 *
 * @param <S> the session state type
 */
public interface Handler<S> {

    /**
     * A new peer sent its first datagram. The default continues with the state unchanged.
     *
     * @param session the new session
     * @param state   the session's initial state
     * @return what happens next, with the session's new state
     */
    default HandlerResult<S> handleConnection(Session session, S state) {
        return HandlerResult.continueWith(state);
    }

    /**
     * A datagram from the peer. In {@link DispatchMode#INLINE} mode {@code data} is a read-only view
     * of the receive buffer, valid only until this method returns: copy what you keep. In
     * {@link DispatchMode#VIRTUAL_THREADS} mode it is a private copy.
     *
     * @param session the peer's session
     * @param data    the datagram's payload
     * @param state   the session's state
     * @return what happens next, with the session's new state
     */
    default HandlerResult<S> handleData(Session session, MemorySegment data, S state) {
        return HandlerResult.continueWith(state);
    }

    /**
     * A message posted with {@link Session#post(Object)} (the {@code handle_info} of the Messenger example).
     *
     * @param session the session it was posted to
     * @param message the message
     * @param state   the session's state
     * @return what happens next, with the session's new state
     */
    default HandlerResult<S> handleMessage(Session session, Object message, S state) {
        return HandlerResult.continueWith(state);
    }

    /**
     * Last callback after a {@link HandlerResult.Close}. The session can no longer send.
     *
     * @param state the session's last state
     */
    default void handleClose(S state) {
    }

    /**
     * Last callback after a {@link HandlerResult.Failure} or a callback that threw.
     *
     * @param reason the error's reason, or the exception a callback threw
     * @param state  the session's last state
     */
    default void handleError(Object reason, S state) {
    }

    /**
     * Last callback when the server shut down before the session ended. The session can still send.
     *
     * @param state the session's last state
     */
    default void handleShutdown(S state) {
    }

    /**
     * Last callback when the session was idle longer than its timeout. The session can still send.
     *
     * @param state the session's last state
     */
    default void handleTimeout(S state) {
    }
}
