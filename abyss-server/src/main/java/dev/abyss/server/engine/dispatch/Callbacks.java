package dev.abyss.server.engine.dispatch;

import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.telemetry.ErrorLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parts of a session's life that do not depend on the thread its callbacks run on: applying a
 * {@link HandlerResult}, running the terminal callback, logging a session that ended in error.
 * Shared by inline dispatch (acceptor thread) and virtual-thread dispatch.
 */
public final class Callbacks {
    private static final Logger LOG = LoggerFactory.getLogger("dev.abyss.server.Session");

    private final Handler<Object> handler;
    private final boolean silentTerminateOnError;
    private final ErrorLog errors;

    public Callbacks(Handler<Object> handler, boolean silentTerminateOnError, ErrorLog errors) {
        this.handler = handler;
        this.silentTerminateOnError = silentTerminateOnError;
        this.errors = errors;
    }

    /** A log for the errors of one server's sessions: bounded in volume, whatever peers send. */
    public static ErrorLog newErrorLog() {
        return new ErrorLog(LOG);
    }

    Handler<Object> handler() {
        return handler;
    }

    /** Told when a session has closed, between its terminal callbacks. */
    public interface Closer {
        void closed(SessionImpl s, SessionEnd how);
    }

    /**
     * Ends {@code s} the one way every dispatch mode does: a TIMEOUT or SHUTDOWN callback runs while
     * the session can still send, then the session closes ({@code closer}, once, by whoever marks it
     * closed first), an error is logged, then a CLOSE or ERROR callback runs.
     */
    public void end(SessionImpl s, SessionEnd how, Closer closer) {
        if (!s.isOpen()) {
            return;
        }
        if (s.layer() != null) {
            sayGoodbye(s); // a close_notify while the session can still send (the layer skips it after its own failure)
        }
        if (how.callbackBeforeClose()) {
            terminal(s, how);
        }
        if (!s.markClosed(how)) {
            return;
        }
        if (s.layer() != null) {
            closeLayer(s);
        }
        closer.closed(s, how);
        if (how == SessionEnd.ERROR) {
            logError(s);
        }
        if (!how.callbackBeforeClose()) {
            terminal(s, how);
        }
    }

    /** Tells a session's layer it is about to end; a layer that throws is logged and ignored. */
    private void sayGoodbye(SessionImpl s) {
        try {
            s.layer().closing();
        } catch (Throwable t) {
            errors.error("the session layer of {} threw when told the session ends; ignored", s.remoteAddress(), t);
        }
    }

    /** Tells a session's layer it ended; a layer that throws is logged and ignored. */
    void closeLayer(SessionImpl s) {
        try {
            s.layer().closed();
        } catch (Throwable t) {
            errors.error("the session layer of {} threw when told the session ended; ignored", s.remoteAddress(), t);
        }
    }

    /** Runs the terminal callback of {@code how}; a callback that throws is logged and ignored. */
    void terminal(SessionImpl s, SessionEnd how) {
        if (handler == null || !s.reportable(how)) {
            return; // no handler, or a session its layer never made ready: the handler never saw it
        }
        try {
            switch (how) {
                case CLOSE -> handler.handleClose(s.state());
                case ERROR, UNREACHABLE -> handler.handleError(s.endReason(), s.state());
                case TIMEOUT, EVICTED -> handler.handleTimeout(s.state());
                case SHUTDOWN -> handler.handleShutdown(s.state());
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
        if (s.endReason() instanceof Throwable t) {
            errors.error("session {} ended in error", s.remoteAddress(), t);
        } else {
            errors.error("session {} ended in error: {}", s.remoteAddress(), s.endReason());
        }
    }
}
