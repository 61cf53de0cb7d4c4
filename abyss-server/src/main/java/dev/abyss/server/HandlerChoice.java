package dev.abyss.server;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * Which kind of handler a server runs: exactly one of the three, chosen with
 * {@link ServerConfig.Builder#handler(Handler, Object)} (or its siblings),
 * {@link ServerConfig.Builder#segmentHandler(SegmentHandler)} or
 * {@link ServerConfig.Builder#datagramHandler(DatagramHandler)}, and read back with
 * {@link ServerConfig#handler()}.
 */
public sealed interface HandlerChoice {

    /**
     * A session per peer with a lifecycle and a state: {@link Handler}. Runs in either
     * {@link DispatchMode}.
     *
     * @param handler      the handler of every session
     * @param initialState makes a new session's initial state; the engine calls it once per new
     *                     session, on the thread that opens it. For {@code handler(h, options)} it
     *                     returns {@code options} every time (the original's handler_options).
     * @param <S>          the session state type
     */
    record Sessions<S>(Handler<S> handler, Supplier<? extends S> initialState) implements HandlerChoice {
        /** Refuses a null handler or supplier. */
        public Sessions {
            Objects.requireNonNull(handler, "handler");
            Objects.requireNonNull(initialState, "initialState");
        }
    }

    /**
     * A raw zero-copy callback per datagram, with sessions but no lifecycle: {@link SegmentHandler}.
     * Runs {@link DispatchMode#INLINE} only.
     *
     * @param handler called for every datagram
     */
    record Segments(SegmentHandler handler) implements HandlerChoice {
        /** Refuses a null handler. */
        public Segments {
            Objects.requireNonNull(handler, "segmentHandler");
        }
    }

    /**
     * Request/response without sessions: {@link DatagramHandler}. No session table, no timers;
     * runs {@link DispatchMode#INLINE} only.
     *
     * @param handler called for every datagram
     */
    record Stateless(DatagramHandler handler) implements HandlerChoice {
        /** Refuses a null handler. */
        public Stateless {
            Objects.requireNonNull(handler, "datagramHandler");
        }
    }
}
