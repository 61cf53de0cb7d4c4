package dev.abyss.server.engine.dispatch;

import dev.abyss.server.DatagramInfo;
import dev.abyss.server.SegmentHandler;
import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.engine.session.TimerWheel;
import dev.abyss.server.engine.telemetry.Drop;
import dev.abyss.server.engine.telemetry.Drops;
import dev.abyss.server.engine.telemetry.Spans;
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
public final class InlineDispatcher implements Dispatcher, Inbox.Receiver, SessionImpl.Driver {
    private final Callbacks.Closer ends;
    private final Drops drops;
    private final Callbacks callbacks;
    private final SegmentHandler segmentHandler;
    private final CallbackClock clock;
    private final boolean checkViews;
    private final Duration limit;
    private final Inbox inbox;
    private final TimerWheel wheel;
    private final Consumer<SessionImpl> onExpired = this::expired;
    private long now;

    /**
     * @param ends           told when a session has ended (the one end-of-session bookkeeping)
     * @param drops          where refused posts and messages for ended sessions are counted
     * @param callbacks      the Handler's callbacks (null handler: a SegmentHandler server)
     * @param segmentHandler the SegmentHandler, or null
     * @param clock          the acceptor's callback clock (inlineCallbackLimit)
     * @param checkViews     debug mode: datagram views die with their callback
     * @param limit          inlineCallbackLimit, for the error it names
     * @param inbox          posts and closes from other threads
     * @param now            System.nanoTime at start
     */
    public InlineDispatcher(Callbacks.Closer ends, Drops drops, Callbacks callbacks, SegmentHandler segmentHandler,
                            CallbackClock clock, boolean checkViews, Duration limit, Inbox inbox, long now) {
        this.ends = ends;
        this.drops = drops;
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

    // ---- Dispatcher ----------------------------------------------------------------------------

    @Override
    public void attach(SessionImpl s) {
        s.drivenBy(this);
    }

    @Override
    public void open(SessionImpl s, MemorySegment first, DatagramInfo info, long now) {
        this.now = now;
        s.touch(now);
        wheel.schedule(s);
        if (s.layer() != null) {
            layered(s, first, info);
        } else if (connect(s, info)) {
            finish(s, data(s, first, info));
        }
    }

    @Override
    public boolean deliver(SessionImpl s, MemorySegment data, DatagramInfo info, long now) {
        if (!s.isOpenLocal()) {
            return false;
        }
        this.now = now;
        s.countReceived((int) data.byteSize());
        s.touch(now); // a one-shot timeout ends with the next datagram
        if (s.layer() != null) {
            layered(s, data, info);
        } else {
            finish(s, data(s, data, info));
        }
        return true;
    }

    /** handleConnection, seeing the facts of the datagram that opened the session; false when it ended it. */
    private boolean connect(SessionImpl s, DatagramInfo info) {
        SessionEnd connected;
        handling = s;
        handlingInfo = info;
        try {
            connected = connection(s);
        } finally {
            handling = null;
            handlingInfo = null;
        }
        if (!finish(s, connected)) {
            return false;
        }
        Spans.ready(s);
        return true;
    }

    /**
     * A datagram of a session with a {@link SessionLayer}: unwrapped first; handleConnection once the
     * layer is ready, then the plaintext, if the layer let any through.
     */
    private void layered(SessionImpl s, MemorySegment datagram, DatagramInfo info) {
        SessionLayer layer = s.layer();
        MemorySegment plain;
        try {
            plain = layer.unwrap(datagram);
        } catch (Throwable t) {
            end(s, s.failLayer(t));
            return;
        }
        wheel.deadlineChanged(s); // the layer's timer may be sooner now (a flight to retransmit)
        if (!s.connected()) {
            if (!layer.ready()) {
                return; // still getting ready (a handshake): the handler waits
            }
            s.markConnected();
            if (!connect(s, info)) {
                return;
            }
        }
        if (plain != null) {
            finish(s, data(s, plain, info));
        }
    }

    /**
     * The wheel's moment for {@code s} came: its layer's timer (a retransmission, a handshake
     * timeout), then filed again; or its idle timeout.
     */
    private void expired(SessionImpl s) {
        SessionLayer layer = s.layer();
        if (layer != null && layer.timerNanos() <= now) {
            try {
                layer.onTimer(now);
            } catch (Throwable t) {
                end(s, s.failLayer(t));
                return;
            }
            if (s.deadlineNanos() > now) {
                wheel.schedule(s);
                return;
            }
        }
        end(s, SessionEnd.TIMEOUT);
    }

    @Override
    public boolean evict(SessionImpl s) {
        end(s, SessionEnd.EVICTED);
        return true;
    }

    @Override
    public void unreachable(SessionImpl s, Object reason) {
        end(s, s.endWith(SessionEnd.UNREACHABLE, reason));
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

    // ---- SessionImpl.Driver: what a session asks, from any thread -------------------------------

    @Override
    public boolean post(SessionImpl s, Object message) {
        if (callbacks.handler() == null) {
            throw new IllegalStateException("post() needs a Handler: a SegmentHandler has no handleMessage");
        }
        if (!s.isOpen()) {
            return false;
        }
        if (!inbox.post(s, message)) {
            drops.dropFromAnyThread(Drop.POST_QUEUE_FULL, s.key, 0);
            return false;
        }
        return true;
    }

    @Override
    public void close(SessionImpl s) {
        if (clock.onOwnerThread()) {
            end(s, SessionEnd.USER);
        } else if (s.isOpen()) {
            inbox.close(s); // never refused: a close must not be lost
        }
    }

    @Override
    public DatagramInfo datagram(SessionImpl s) {
        return s == handling ? handlingInfo : null;
    }

    @Override
    public MemorySegment receive(SessionImpl s, long timeoutNanos) {
        throw new IllegalStateException("Session.receive blocks: it needs DispatchMode.VIRTUAL_THREADS; this server dispatches "
                + "INLINE, on the acceptor thread, which must not block");
    }

    // ---- Inbox.Receiver ------------------------------------------------------------------------

    @Override
    public void message(SessionImpl s, Object message) {
        if (!s.isOpenLocal() || !s.connected()) { // ended, or its layer not ready: the handler has not seen it
            drops.drop(Drop.SESSION_ENDED, s.key, 0);
            return;
        }
        s.touch(now); // a message counts as activity
        SessionEnd how;
        clock.enter();
        try {
            how = s.apply(callbacks.handler().handleMessage(s, message, s.state()), now);
        } catch (Throwable t) {
            how = s.fail(t);
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
        if (s.takeRescheduled()) {
            wheel.deadlineChanged(s);
        }
        return true;
    }

    private void end(SessionImpl s, SessionEnd how) {
        callbacks.end(s, how, ends);
    }

    /** handleConnection of a new session (nothing for a SegmentHandler). */
    private SessionEnd connection(SessionImpl s) {
        if (callbacks.handler() == null) {
            return null;
        }
        SessionEnd how;
        clock.enter();
        try {
            how = s.apply(callbacks.handler().handleConnection(s, s.state()), now);
        } catch (Throwable t) {
            how = s.fail(t);
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
                how = s.apply(callbacks.handler().handleData(s, data, s.state()), now);
            }
        } catch (Throwable t) {
            how = s.fail(t);
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
        return s.fail(new TimeoutException(callback + " of session " + s.remoteAddress()
                + " ran longer than inlineCallbackLimit " + limit));
    }
}
