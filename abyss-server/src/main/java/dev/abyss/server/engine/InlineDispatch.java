package dev.abyss.server.engine;

import dev.abyss.server.SegmentHandler;
import dev.abyss.server.telemetry.EventKind;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * INLINE dispatch: runs a session's callbacks on the acceptor thread, under the callback limit,
 * and says how the session goes on (null: it continues; else how it ends). The acceptor applies
 * that (timers, ends); this class only calls the handler.
 */
final class InlineDispatch {
    private final Callbacks callbacks;
    private final SegmentHandler segmentHandler;
    private final CallbackClock clock;
    private final boolean checkViews;
    private final Duration limit;

    InlineDispatch(Callbacks callbacks, SegmentHandler segmentHandler, CallbackClock clock, boolean checkViews, Duration limit) {
        this.callbacks = callbacks;
        this.segmentHandler = segmentHandler;
        this.clock = clock;
        this.checkViews = checkViews;
        this.limit = limit;
    }

    /** handleConnection of a new session (nothing for a SegmentHandler). */
    SessionEnd connection(SessionImpl s, long now) {
        if (callbacks.handler() == null) {
            return null;
        }
        SessionEnd how;
        clock.enter();
        try {
            how = Callbacks.apply(s, callbacks.handler().handleConnection(s, s.state), now);
        } catch (Throwable t) {
            s.endReason = t;
            how = SessionEnd.ERROR;
        }
        return exit(s, "handleConnection", how);
    }

    /** A datagram: handleData, or the SegmentHandler. */
    SessionEnd data(SessionImpl s, MemorySegment data, boolean truncated, long now) {
        if (checkViews) {
            // debug mode: a view with its own confined lifetime, over as soon as the callback is
            try (Arena callback = Arena.ofConfined()) {
                return view(s, data.reinterpret(callback, null).asReadOnly(), truncated, now);
            }
        }
        return view(s, data, truncated, now);
    }

    private SessionEnd view(SessionImpl s, MemorySegment data, boolean truncated, long now) {
        s.truncatedNow = truncated;
        if (EventKind.CONNECTION_RECV.enabled()) {
            Spans.recv(EventKind.CONNECTION_RECV, s, data);
        }
        SessionEnd how = null;
        clock.enter();
        try {
            if (segmentHandler != null) {
                segmentHandler.handle(s, data);
            } else {
                how = Callbacks.apply(s, callbacks.handler().handleData(s, data, s.state), now);
            }
        } catch (Throwable t) {
            s.endReason = t;
            how = SessionEnd.ERROR;
        } finally {
            s.truncatedNow = false;
        }
        return exit(s, "handleData", how);
    }

    /** A message posted to the session. */
    SessionEnd message(SessionImpl s, Object message, long now) {
        SessionEnd how;
        clock.enter();
        try {
            how = Callbacks.apply(s, callbacks.handler().handleMessage(s, message, s.state), now);
        } catch (Throwable t) {
            s.endReason = t;
            how = SessionEnd.ERROR;
        }
        return exit(s, "handleMessage", how);
    }

    /** Ends the callback; an overrun found by the watchdog turns its outcome into an error. */
    private SessionEnd exit(SessionImpl s, String callback, SessionEnd how) {
        if (!clock.exitOverran()) {
            return how;
        }
        s.endReason = new TimeoutException(callback + " of session " + s.remoteAddress()
                + " ran longer than inlineCallbackLimit " + limit);
        return SessionEnd.ERROR;
    }
}
