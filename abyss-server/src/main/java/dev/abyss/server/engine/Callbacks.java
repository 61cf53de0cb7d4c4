package dev.abyss.server.engine;

import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parts of a session's life that do not depend on the thread its callbacks run on: applying a
 * {@link HandlerResult}, running the terminal callback, logging a session that ended in error.
 * Shared by inline dispatch (acceptor thread) and virtual-thread dispatch.
 */
final class Callbacks {
    private static final Logger LOG = LoggerFactory.getLogger("dev.abyss.server.Session");

    private final Handler<Object> handler;
    private final boolean silentTerminateOnError;
    private final ErrorLog errors;

    Callbacks(Handler<Object> handler, boolean silentTerminateOnError, ErrorLog errors) {
        this.handler = handler;
        this.silentTerminateOnError = silentTerminateOnError;
        this.errors = errors;
    }

    /** A log for the errors of one server's sessions: bounded in volume, whatever peers send. */
    static ErrorLog newErrorLog() {
        return new ErrorLog(LOG);
    }

    Handler<Object> handler() {
        return handler;
    }

    /**
     * Applies {@code result} to {@code s}: the state always, a new deadline for a continue with a
     * timeout (then {@link SessionImpl#rescheduled} is set).
     *
     * @return null to keep the session, else how it ends (the reason in {@link SessionImpl#endReason})
     */
    static SessionEnd apply(SessionImpl s, HandlerResult<Object> result, long now) {
        switch (result) {
            case HandlerResult.Continue<Object> c -> {
                s.state = c.state();
                if (c.timeoutNanos() >= 0) {
                    if (c.persistent()) {
                        s.timeoutNanos = c.timeoutNanos();
                    }
                    s.deadlineNanos = now + c.timeoutNanos();
                    s.rescheduled = true;
                }
                return null;
            }
            case HandlerResult.Close<Object> c -> {
                s.state = c.state();
                return SessionEnd.CLOSE;
            }
            case HandlerResult.Error<Object> e -> {
                s.state = e.state();
                s.endReason = e.reason();
                return SessionEnd.ERROR;
            }
            case null -> {
                s.endReason = new NullPointerException("handler returned null instead of a HandlerResult");
                return SessionEnd.ERROR;
            }
        }
    }

    /** Told when a session has closed, between its terminal callbacks. */
    interface Closer {
        void closed(SessionImpl s, SessionEnd how);
    }

    /**
     * Ends {@code s} the one way every dispatch mode does: a TIMEOUT or SHUTDOWN callback runs while
     * the session can still send, then the session closes ({@code closer}, once, by whoever marks it
     * closed first), an error is logged, then a CLOSE or ERROR callback runs.
     */
    void end(SessionImpl s, SessionEnd how, Closer closer) {
        if (!s.isOpen()) {
            return;
        }
        if (how.callbackBeforeClose()) {
            terminal(s, how);
        }
        if (!s.markClosed()) {
            return;
        }
        s.endedBy = how;
        closer.closed(s, how);
        if (how == SessionEnd.ERROR) {
            logError(s);
        }
        if (!how.callbackBeforeClose()) {
            terminal(s, how);
        }
    }

    /** Runs the terminal callback of {@code how}; a callback that throws is logged and ignored. */
    void terminal(SessionImpl s, SessionEnd how) {
        if (handler == null) {
            return;
        }
        try {
            switch (how) {
                case CLOSE -> handler.handleClose(s.state);
                case ERROR, UNREACHABLE -> handler.handleError(s.endReason, s.state);
                case TIMEOUT, EVICTED -> handler.handleTimeout(s.state);
                case SHUTDOWN -> handler.handleShutdown(s.state);
                case USER -> {
                }
            }
        } catch (Throwable t) {
            errors.error("{} callback of session {} threw; ignored", how, s.remoteAddress(), t);
        }
    }

    /** Logs a session that ended in error, unless silentTerminateOnError. */
    void logError(SessionImpl s) {
        if (silentTerminateOnError) {
            return;
        }
        if (s.endReason instanceof Throwable t) {
            errors.error("session {} ended in error", s.remoteAddress(), t);
        } else {
            errors.error("session {} ended in error: {}", s.remoteAddress(), s.endReason);
        }
    }
}
