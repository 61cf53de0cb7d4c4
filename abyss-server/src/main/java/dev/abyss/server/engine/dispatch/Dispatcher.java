package dev.abyss.server.engine.dispatch;

import dev.abyss.server.DatagramInfo;
import dev.abyss.server.engine.session.SessionImpl;

import java.lang.foreign.MemorySegment;

/**
 * How a session's callbacks run: {@link InlineDispatcher} on the acceptor thread,
 * {@link VirtualDispatcher} on the session's own virtual thread. The acceptor decides which session
 * a datagram is for; the dispatcher runs the handler and ends the session through its
 * {@link Callbacks.Closer}, the one place where a session leaves its acceptor. What a session itself
 * asks (posts, closes, the datagram's facts, a blocking receive) goes to its
 * {@link SessionImpl.Driver}, which {@link #attach} sets. Owner thread unless said otherwise.
 */
public sealed interface Dispatcher permits InlineDispatcher, VirtualDispatcher {

    /** A new session, before it is published in its table: sets its {@link SessionImpl.Driver}. */
    void attach(SessionImpl s);

    /** A new session and the datagram that opened it (counted already): handleConnection, then the datagram. */
    void open(SessionImpl s, MemorySegment first, DatagramInfo info, long now);

    /** A datagram for a live session (counted here); false when the session ended meanwhile: a new one may open. */
    boolean deliver(SessionImpl s, MemorySegment data, DatagramInfo info, long now);

    /**
     * Ends {@code s} to make room (handleTimeout). True when its place is free at once; false when it
     * ends asynchronously (on its own thread) and the place frees then.
     */
    boolean evict(SessionImpl s);

    /** Its peer is unreachable: ends {@code s} with handleError({@code reason}) ({@code SessionEnd.UNREACHABLE}). */
    void unreachable(SessionImpl s, Object reason);

    /** Once per turn: timeouts due by {@code now} and what other threads queued. */
    void turn(long now);

    /** Milliseconds until the dispatcher needs a turn for its timers, -1 for none. */
    int millisToNextTimer(long now);

    /**
     * One step of a stop, {@code late} nanoseconds past the deadline (negative before it): ends
     * the sessions that have no work in flight with handleShutdown. True when the acceptor may exit.
     */
    boolean stopStep(Iterable<SessionImpl> sessions, boolean queuesEmpty, long late);

    /** At the acceptor's exit: ends a session still live. */
    void exit(SessionImpl s);
}
