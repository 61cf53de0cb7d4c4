package dev.abyss.server.engine.telemetry;

import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.telemetry.EventKind;

import java.util.ArrayList;

/**
 * Ended sessions whose telemetry stop event and JFR event wait for the flush that sends their last
 * datagrams, so both count them. Acceptor thread only.
 */
public final class SessionStops {
    private final long acceptorSpan;
    private final ArrayList<SessionImpl> pending = new ArrayList<>();

    public SessionStops(long acceptorSpan) {
        this.acceptorSpan = acceptorSpan;
    }

    /** {@code s} has ended: reported at the next {@link #emit()} when anything listens. */
    public void ended(SessionImpl s) {
        if (EventKind.CONNECTION_STOP.enabled() || s.jfr() != null) {
            pending.add(s);
        }
    }

    public boolean isEmpty() {
        return pending.isEmpty();
    }

    /** Reports every pending stop (after the transport settled their sends). */
    public void emit() {
        long t = System.nanoTime();
        for (SessionImpl s : pending) {
            Spans.connectionStop(s, acceptorSpan, t);
            JfrEvents.sessionEnded(s);
        }
        pending.clear();
    }
}
