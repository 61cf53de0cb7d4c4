package dev.abyss.server.engine;

import dev.abyss.server.DatagramInfo;

import java.lang.foreign.MemorySegment;

/**
 * How a session's callbacks run: {@link InlineDispatcher} on the acceptor thread,
 * {@link VirtualDispatcher} on the session's own virtual thread. The acceptor decides which session
 * a datagram is for; the dispatcher runs the handler and ends the session through
 * {@link Host#closed}, the one place where a session leaves its acceptor.
 */
sealed interface Dispatcher permits InlineDispatcher, VirtualDispatcher {

    /** What a dispatcher may ask of its acceptor (owner thread unless said otherwise). */
    interface Host {
        /** The session has ended ({@link SessionImpl#markClosed()} done): out of the table, counted, reported. */
        void closed(SessionImpl s, SessionEnd how);

        /** A datagram or message dropped, with its cause (counted, JFR). */
        void drop(Drop cause, SessionImpl s, long bytes);

        /** Any thread: true on the acceptor's own thread. */
        boolean isOwnerThread();
    }

    /** A new session and the datagram that opened it (counted already): handleConnection, then the datagram. */
    void open(SessionImpl s, MemorySegment first, DatagramInfo info, long now);

    /** A datagram for a live session (counted here); false when the session ended meanwhile: a new one may open. */
    boolean deliver(SessionImpl s, MemorySegment data, DatagramInfo info, long now);

    /** Any thread: a message for {@code s}; false when refused (full) or the session ended. */
    boolean post(SessionImpl s, Object message);

    /** Any thread: {@link dev.abyss.server.Session#close()}. */
    void close(SessionImpl s);

    /**
     * Owner thread: ends {@code s} to make room (handleTimeout). True when its place is free at
     * once; false when it ends asynchronously (on its own thread) and the place frees then.
     */
    boolean evict(SessionImpl s);

    /** Owner thread: its peer is unreachable: ends {@code s} with handleError({@code reason}) ({@link SessionEnd#UNREACHABLE}). */
    void unreachable(SessionImpl s, Object reason);

    /** Owner thread, once per turn: timeouts due by {@code now} and posted work. */
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

    /** Any thread: messages refused because a mailbox was full. */
    long refusedPosts();
}
