package dev.abyss.server.engine.dispatch;

import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What other threads ask of an acceptor besides sends: messages posted to its INLINE sessions
 * (bounded by mailboxCapacity, a full inbox refuses and counts), closes (never refused) and the
 * ends of its virtual-thread sessions (never refused: the books must balance). Drained by the
 * acceptor, which runs the callbacks.
 */
public final class Inbox {
    /** The acceptor's side of a drain. */
    interface Receiver {
        void message(SessionImpl s, Object message);

        void close(SessionImpl s);

        void ended(SessionImpl s, SessionEnd how, int dropped);
    }

    private sealed interface Command {
    }

    private record Post(SessionImpl session, Object message) implements Command {
    }

    private record Close(SessionImpl session) implements Command {
    }

    private record Ended(SessionImpl session, SessionEnd how, int dropped) implements Command {
    }

    private final ConcurrentLinkedQueue<Command> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger posts = new AtomicInteger();
    private final int capacity;
    private final Runnable wakeup;

    /** @param wakeup wakes the acceptor (from any thread) after a command was queued */
    public Inbox(int capacity, Runnable wakeup) {
        this.capacity = capacity;
        this.wakeup = wakeup;
    }

    boolean post(SessionImpl s, Object message) {
        if (posts.incrementAndGet() > capacity) {
            posts.decrementAndGet();
            return false; // the caller counts it
        }
        queue.offer(new Post(s, message));
        wakeup.run();
        return true;
    }

    void close(SessionImpl s) {
        queue.offer(new Close(s));
        wakeup.run();
    }

    void ended(SessionImpl s, SessionEnd how, int dropped) {
        queue.offer(new Ended(s, how, dropped));
        wakeup.run();
    }

    public boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Owner thread: hands every queued command to {@code r}. */
    void drain(Receiver r) {
        Command c;
        while ((c = queue.poll()) != null) {
            switch (c) {
                case Post(SessionImpl s, Object message) -> {
                    posts.decrementAndGet();
                    r.message(s, message);
                }
                case Close(SessionImpl s) -> r.close(s);
                case Ended(SessionImpl s, SessionEnd how, int dropped) -> r.ended(s, how, dropped);
            }
        }
    }
}
