package dev.abyss.server.engine;

import dev.abyss.server.DatagramInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * VIRTUAL_THREADS dispatch: each session runs its callbacks and its idle timeout on its own
 * {@link VirtualSession} (a virtual thread and a bounded mailbox); the datagram is copied, the
 * handler may block. A session's end comes back to the acceptor through the {@link Inbox}.
 */
final class VirtualDispatcher implements Dispatcher, Inbox.Receiver {
    private static final Logger LOG = LoggerFactory.getLogger(VirtualDispatcher.class);
    /** After the stop deadline: time for sessions to run handleShutdown, then again after an interrupt. */
    private static final long SHUTDOWN_GRACE_NANOS = 1_000_000_000L;

    private final Host host;
    private final Callbacks callbacks;
    private final Inbox inbox;
    private final int mailboxCapacity;
    /** Posts refused by a full mailbox, counted by the posting threads. */
    private final AtomicLong refused = new AtomicLong();
    private boolean shutdownOffered;
    private boolean interrupted;

    VirtualDispatcher(Host host, Callbacks callbacks, Inbox inbox, int mailboxCapacity) {
        this.host = host;
        this.callbacks = callbacks;
        this.inbox = inbox;
        this.mailboxCapacity = mailboxCapacity;
    }

    @Override
    public void open(SessionImpl s, MemorySegment first, DatagramInfo info, long now) {
        s.virtual = new VirtualSession(s, callbacks, inbox, mailboxCapacity);
        // offered before the thread starts: handleConnection cannot have closed the mailbox yet
        s.virtual.offerData(first, info);
        s.virtual.start("abyss-session-" + s.remoteAddress());
    }

    @Override
    public boolean deliver(SessionImpl s, MemorySegment data, DatagramInfo info, long now) {
        switch (s.virtual.offerData(data, info)) {
            case OK -> s.countReceived((int) data.byteSize());
            case FULL -> host.drop(Drop.MAILBOX_FULL, s, data.byteSize());
            case CLOSED -> {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean post(SessionImpl s, Object message) {
        if (!s.isOpen()) {
            return false;
        }
        return switch (s.virtual.offerMessage(message)) {
            case OK -> true;
            case FULL -> {
                refused.incrementAndGet();
                yield false;
            }
            case CLOSED -> false;
        };
    }

    @Override
    public void close(SessionImpl s) {
        s.virtual.offerClose();
    }

    @Override
    public boolean evict(SessionImpl s) {
        s.virtual.offerEviction();
        return false;
    }

    @Override
    public void unreachable(SessionImpl s, Object reason) {
        s.virtual.offerUnreachable(reason);
    }

    @Override
    public void turn(long now) {
        inbox.drain(this);
    }

    @Override
    public int millisToNextTimer(long now) {
        return -1; // every session keeps its own timeout
    }

    @Override
    public boolean stopStep(Iterable<SessionImpl> sessions, boolean queuesEmpty, long late) {
        if (late < 0) {
            sessions.forEach(s -> s.virtual.offerShutdownIfIdle());
            return false;
        }
        if (!shutdownOffered) {
            shutdownOffered = true;
            sessions.forEach(s -> s.virtual.shutdownNow()); // ahead of any backlog: the deadline holds
        } else if (late >= SHUTDOWN_GRACE_NANOS && !interrupted) {
            interrupted = true;
            sessions.forEach(s -> s.virtual.interrupt());
        }
        return late >= 2 * SHUTDOWN_GRACE_NANOS;
    }

    /** At exit: a session that did not end within the shutdown grace is abandoned, loudly. */
    @Override
    public void exit(SessionImpl s) {
        LOG.error("session {} did not finish handleShutdown within {} ms after the shutdown deadline; abandoned",
                s.remoteAddress(), 2 * SHUTDOWN_GRACE_NANOS / 1_000_000);
        if (s.markClosed()) {
            s.endedBy = SessionEnd.SHUTDOWN;
            host.closed(s, SessionEnd.SHUTDOWN);
        }
    }

    @Override
    public long refusedPosts() {
        return refused.get() + inbox.refused.get();
    }

    // ---- Inbox.Receiver: only ends come this way ------------------------------------------------

    @Override
    public void message(SessionImpl s, Object message) {
        host.drop(Drop.SESSION_ENDED, s, 0); // not used: posts go to the mailbox
    }

    @Override
    public void ended(SessionImpl s, SessionEnd how, int dropped) {
        host.closed(s, how);
        for (int i = 0; i < dropped; i++) {
            host.drop(Drop.SESSION_ENDED, s, 0);
        }
    }
}
