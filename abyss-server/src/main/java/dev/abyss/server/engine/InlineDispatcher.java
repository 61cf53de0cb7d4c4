package dev.abyss.server.engine;

import dev.abyss.server.DatagramInfo;
import dev.abyss.server.SegmentHandler;
import dev.abyss.server.telemetry.EventKind;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * INLINE dispatch: a session's callbacks run on the acceptor thread, under the callback limit
 * ({@link CallbackClock}, watched by {@link CallbackWatchdog}); idle timeouts on the acceptor's
 * {@link TimerWheel}; messages and closes from other threads through the {@link Inbox}. The
 * datagram is the receive buffer itself: zero copy, valid for the callback.
 */
final class InlineDispatcher implements Dispatcher, Inbox.Receiver {
    private final Host host;
    private final Callbacks callbacks;
    private final SegmentHandler segmentHandler;
    private final CallbackClock clock;
    private final boolean checkViews;
    private final Duration limit;
    private final Inbox inbox;
    private final TimerWheel wheel;
    private final Consumer<SessionImpl> onExpired = s -> end(s, SessionEnd.TIMEOUT);
    private long now;

    InlineDispatcher(Host host, Callbacks callbacks, SegmentHandler segmentHandler, CallbackClock clock,
                     boolean checkViews, Duration limit, Inbox inbox, long now) {
        this.host = host;
        this.callbacks = callbacks;
        this.segmentHandler = segmentHandler;
        this.clock = clock;
        this.checkViews = checkViews;
        this.limit = limit;
        this.inbox = inbox;
        this.now = now;
        this.wheel = new TimerWheel(now);
    }

    /** The session whose datagram callback runs, and its datagram's facts (one at a time on this thread). */
    private SessionImpl handling;
    private DatagramInfo handlingInfo;

    /** The facts of the datagram {@code s} is handling now, or null. */
    DatagramInfo datagramOf(SessionImpl s) {
        return s == handling ? handlingInfo : null;
    }

    // ---- Dispatcher ----------------------------------------------------------------------------

    @Override
    public void open(SessionImpl s, MemorySegment first, DatagramInfo info, long now) {
        this.now = now;
        s.deadlineNanos = now + s.timeoutNanos;
        wheel.schedule(s);
        SessionEnd connected;
        handling = s; // handleConnection sees the first datagram's facts too
        handlingInfo = info;
        try {
            connected = connection(s);
        } finally {
            handling = null;
            handlingInfo = null;
        }
        if (!finish(s, connected)) {
            return;
        }
        Spans.ready(s);
        finish(s, data(s, first, info));
    }

    @Override
    public boolean deliver(SessionImpl s, MemorySegment data, DatagramInfo info, long now) {
        if (!s.isOpenLocal()) {
            return false;
        }
        this.now = now;
        s.countReceived((int) data.byteSize());
        s.deadlineNanos = now + s.timeoutNanos; // a one-shot timeout ends with the next datagram
        finish(s, data(s, data, info));
        return true;
    }

    @Override
    public boolean post(SessionImpl s, Object message) {
        return s.isOpen() && inbox.post(s, message);
    }

    @Override
    public void close(SessionImpl s) {
        if (host.isOwnerThread()) {
            end(s, SessionEnd.USER);
        } else if (s.isOpen()) {
            inbox.close(s); // never refused: a close must not be lost
        }
    }

    @Override
    public boolean evict(SessionImpl s) {
        end(s, SessionEnd.EVICTED);
        return true;
    }

    @Override
    public void unreachable(SessionImpl s, Object reason) {
        s.endReason = reason;
        end(s, SessionEnd.UNREACHABLE);
    }

    @Override
    public void turn(long now) {
        this.now = now;
        inbox.drain(this);
        wheel.advance(now, onExpired);
    }

    @Override
    public int millisToNextTimer(long now) {
        return wheel.millisToNextTick(now);
    }

    @Override
    public boolean stopStep(Iterable<SessionImpl> sessions, boolean queuesEmpty, long late) {
        // no callback runs between turns: once nothing is queued the rest end with handleShutdown on the way out
        return queuesEmpty || late >= 0;
    }

    @Override
    public void exit(SessionImpl s) {
        end(s, SessionEnd.SHUTDOWN);
    }

    @Override
    public long refusedPosts() {
        return inbox.refused.get();
    }

    // ---- Inbox.Receiver ------------------------------------------------------------------------

    @Override
    public void message(SessionImpl s, Object message) {
        if (!s.isOpenLocal()) {
            host.drop(Drop.SESSION_ENDED, s, 0);
            return;
        }
        s.deadlineNanos = now + s.timeoutNanos; // a message counts as activity
        SessionEnd how;
        clock.enter();
        try {
            how = Callbacks.apply(s, callbacks.handler().handleMessage(s, message, s.state), now);
        } catch (Throwable t) {
            s.endReason = t;
            how = SessionEnd.ERROR;
        }
        finish(s, exit(s, "handleMessage", how));
    }

    @Override
    public void ended(SessionImpl s, SessionEnd how, int dropped) {
        throw new IllegalStateException("INLINE sessions end on the acceptor thread");
    }

    // ---- callbacks -----------------------------------------------------------------------------

    /** Applies how a callback went: false when the session ended. */
    private boolean finish(SessionImpl s, SessionEnd how) {
        if (how != null) {
            end(s, how);
            return false;
        }
        if (s.rescheduled) {
            s.rescheduled = false;
            wheel.deadlineChanged(s);
        }
        return true;
    }

    private void end(SessionImpl s, SessionEnd how) {
        callbacks.end(s, how, host::closed);
    }

    /** handleConnection of a new session (nothing for a SegmentHandler). */
    private SessionEnd connection(SessionImpl s) {
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
    private SessionEnd data(SessionImpl s, MemorySegment data, DatagramInfo info) {
        if (checkViews) {
            // debug mode: a view with its own confined lifetime, over as soon as the callback is
            try (Arena callback = Arena.ofConfined()) {
                return view(s, dev.abyss.ffi.Segments.viewFor(data, callback), info);
            }
        }
        return view(s, data, info);
    }

    private SessionEnd view(SessionImpl s, MemorySegment data, DatagramInfo info) {
        handling = s;
        handlingInfo = info;
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
            handling = null;
            handlingInfo = null;
        }
        return exit(s, "handleData", how);
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
