package dev.abyss.server.engine.dispatch;

import dev.abyss.server.DatagramInfo;
import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.telemetry.Drop;
import dev.abyss.server.engine.telemetry.Drops;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;

/**
 * VIRTUAL_THREADS dispatch: each session runs its callbacks and its idle timeout on its own
 * {@link VirtualSession} (a virtual thread and a bounded mailbox); the datagram is copied, the
 * handler may block. A session's end comes back to the acceptor through the {@link Inbox}.
 */
public final class VirtualDispatcher implements Dispatcher, Inbox.Receiver {
    private static final Logger LOG = LoggerFactory.getLogger(VirtualDispatcher.class);
    /** After the stop deadline: time for sessions to run handleShutdown, then again after an interrupt. */
    private static final long SHUTDOWN_GRACE_NANOS = 1_000_000_000L;

    private final Callbacks.Closer ends;
    private final Drops drops;
    private final Callbacks callbacks;
    private final Inbox inbox;
    private final int mailboxCapacity;
    private boolean shutdownOffered;
    /** How late past the deadline handleShutdown was offered: where the grace starts. */
    private long shutdownOfferedLate;
    private boolean interrupted;

    /**
     * @param ends            told when a session has ended (the one end-of-session bookkeeping)
     * @param drops           where full mailboxes and never-handled datagrams are counted
     * @param callbacks       the Handler's callbacks
     * @param inbox           how sessions report their end to the acceptor
     * @param mailboxCapacity datagrams and messages a session's mailbox holds
     */
    public VirtualDispatcher(Callbacks.Closer ends, Drops drops, Callbacks callbacks, Inbox inbox, int mailboxCapacity) {
        this.ends = ends;
        this.drops = drops;
        this.callbacks = callbacks;
        this.inbox = inbox;
        this.mailboxCapacity = mailboxCapacity;
    }

    @Override
    public void attach(SessionImpl s) {
        s.drivenBy(new VirtualSession(s, callbacks, inbox, drops, mailboxCapacity));
    }

    private static VirtualSession of(SessionImpl s) {
        return (VirtualSession) s.driver();
    }

    @Override
    public void open(SessionImpl s, MemorySegment first, DatagramInfo info, long now) {
        VirtualSession v = of(s);
        // offered before the thread starts: handleConnection cannot have closed the mailbox yet
        v.offerData(first, info);
        v.start("abyss-session-" + s.remoteAddress());
    }

    @Override
    public boolean deliver(SessionImpl s, MemorySegment data, DatagramInfo info, long now) {
        switch (of(s).offerData(data, info)) {
            case OK -> s.countReceived((int) data.byteSize());
            case FULL -> drops.drop(Drop.MAILBOX_FULL, s.key, data.byteSize());
            case CLOSED -> {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean evict(SessionImpl s) {
        of(s).offerEviction();
        return false;
    }

    @Override
    public void unreachable(SessionImpl s, Object reason) {
        of(s).offerUnreachable(reason);
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
            sessions.forEach(s -> of(s).offerShutdownIfIdle());
            return false;
        }
        if (!shutdownOffered) {
            shutdownOffered = true;
            shutdownOfferedLate = late;
            sessions.forEach(s -> of(s).shutdownNow()); // ahead of any backlog: the deadline holds
        }
        // the grace counts from the offer, not from the deadline: an acceptor that comes late to its
        // first step (a loaded machine) must not abandon sessions it never gave the time
        long since = late - shutdownOfferedLate;
        if (since >= SHUTDOWN_GRACE_NANOS && !interrupted) {
            interrupted = true;
            sessions.forEach(s -> of(s).interrupt());
        }
        return since >= 2 * SHUTDOWN_GRACE_NANOS;
    }

    /** At exit: a session that did not end within the shutdown grace is abandoned, loudly. */
    @Override
    public void exit(SessionImpl s) {
        LOG.error("session {} did not finish handleShutdown within {} ms after the shutdown deadline; abandoned",
                s.remoteAddress(), 2 * SHUTDOWN_GRACE_NANOS / 1_000_000);
        if (s.markClosed(SessionEnd.SHUTDOWN)) {
            if (s.layer() != null) {
                callbacks.closeLayer(s);
            }
            ends.closed(s, SessionEnd.SHUTDOWN);
        }
    }

    // ---- Inbox.Receiver: only ends come this way ------------------------------------------------

    @Override
    public void message(SessionImpl s, Object message) {
        drops.drop(Drop.SESSION_ENDED, s.key, 0); // not used: posts go to the mailbox
    }

    @Override
    public void close(SessionImpl s) {
        // not used: a virtual-thread session's close goes to its mailbox
    }

    @Override
    public void ended(SessionImpl s, SessionEnd how, int dropped) {
        ends.closed(s, how);
        for (int i = 0; i < dropped; i++) {
            drops.drop(Drop.SESSION_ENDED, s.key, 0);
        }
    }
}
