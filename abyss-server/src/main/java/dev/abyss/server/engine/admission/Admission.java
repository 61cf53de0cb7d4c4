package dev.abyss.server.engine.admission;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.engine.dispatch.Dispatcher;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionLayer;
import dev.abyss.server.engine.session.SessionTable;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.Drop;
import dev.abyss.server.engine.telemetry.Drops;
import dev.abyss.server.engine.telemetry.ErrorLog;
import dev.abyss.server.engine.telemetry.JfrEvents;
import dev.abyss.server.engine.telemetry.Spans;
import dev.abyss.server.transport.DatagramFacts;

import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/**
 * Where new peers are admitted: a datagram from a peer without a live session opens one when the
 * server-wide cap allows, else makes room by evicting the acceptor's best candidate
 * (FullTablePolicy.EVICT), else waits in the bounded {@link Retries} ring and is retried, then
 * dropped and counted. Refused while suspended or stopping. A peer with datagrams waiting keeps
 * them in order: its later ones wait behind them. Acceptor thread only.
 */
public final class Admission implements Retries.Host {
    private final SessionTable sessions;
    private final SessionPlaces places;
    private final Dispatcher dispatcher;
    private final SessionImpl.Outbound outbound;
    private final Supplier<Object> initialState;
    private final long readTimeoutNanos;
    private final long acceptorSpan;
    private final Counters counters;
    private final Drops drops;
    private final Retries retries;
    /** Opens each new session's {@link SessionLayer}, or null: no layer. */
    private final SessionLayer.Factory layers;
    private final ErrorLog errors;
    private volatile boolean suspended;
    private volatile boolean stopping;
    private long now;

    /**
     * @param sessions         the acceptor's table (read here; {@link SessionPlaces} writes it)
     * @param places           the places: table, eviction order, cap
     * @param dispatcher       runs the new sessions' callbacks
     * @param outbound         the acceptor's send side, held by every session it opens
     * @param initialState     the handler's state for a new session
     * @param readTimeoutNanos a new session's idle timeout
     * @param acceptorSpan     the acceptor's telemetry span, parent of the sessions'
     * @param counters         the acceptor's counters
     * @param drops            where refused datagrams are counted
     * @param retries          how many times and how far apart a waiting peer is retried, and the ring's bytes
     * @param arena            the acceptor's memory, for the retry ring
     * @param layers           opens each new session's layer (DTLS, ...), or null for none
     * @param errors           where a failing initial state or layer factory is logged, bounded
     */
    public Admission(SessionTable sessions, SessionPlaces places, Dispatcher dispatcher, SessionImpl.Outbound outbound,
                     Supplier<Object> initialState, long readTimeoutNanos, long acceptorSpan, Counters counters, Drops drops,
                     RetryLimits retries, java.lang.foreign.Arena arena, SessionLayer.Factory layers, ErrorLog errors) {
        this.layers = layers;
        this.errors = errors;
        this.sessions = sessions;
        this.places = places;
        this.dispatcher = dispatcher;
        this.outbound = outbound;
        this.initialState = initialState;
        this.readTimeoutNanos = readTimeoutNanos;
        this.acceptorSpan = acceptorSpan;
        this.counters = counters;
        this.drops = drops;
        this.retries = new Retries(retries.count(), retries.waitNanos(), retries.bufferBytes(), arena, this);
    }

    /** How new peers wait for a full table: attempts, the wait between them, the ring's size. */
    public record RetryLimits(int count, long waitNanos, int bufferBytes) {
    }

    /** Any thread: refuse new peers (counted) while on; live sessions go on. */
    public void suspend(boolean on) {
        suspended = on;
    }

    /** Any thread: the server stops; new peers are refused from now on. */
    public void stopping() {
        stopping = true;
    }

    /**
     * A datagram from {@code peer}, which has no live session ({@code stale}: the session the table
     * still holds though it has ended meanwhile, or null).
     */
    public void admit(PeerKey peer, MemorySegment data, DatagramFacts facts, SessionImpl stale, long now) {
        this.now = now;
        boolean truncated = facts.truncated();
        if (retries.isWaiting(peer)) {
            retries.add(peer, facts.destinationKey(), data, truncated, now, stopping); // behind its earlier ones
            return;
        }
        if (stale != null) {
            sessions.remove(stale); // it ended meanwhile: this datagram opens a new session
        }
        if (layers != null && !layers.admits(peer, facts.destinationKey(), data)) {
            return; // the layer answered it statelessly (a DTLS cookie) or dropped and counted it: nothing kept
        }
        if (suspended || stopping) {
            // stopping: an acceptor that closed its socket first hands its peers to the others by
            // the kernel's hash; they must not open new sessions in the last moments
            drops.drop(Drop.SUSPENDED, peer, data.byteSize());
            return;
        }
        PeerKey arrivedAt = facts.destinationKey();
        if (open(peer, data, facts, arrivedAt) == null && !(evictOne() && openReserved(peer, data, facts, arrivedAt) != null)) {
            retries.add(peer, arrivedAt, data, truncated, now, stopping);
        }
    }

    /** Once per turn: waiting peers whose retry is due. */
    public void retry(long now) {
        this.now = now;
        retries.process(now);
    }

    /** Milliseconds until the next retry is due, -1 for none. */
    public int millisToNextRetry(long now) {
        return retries.millisToNext(now);
    }

    /** At the acceptor's exit: waiting datagrams are dropped (counted). */
    public void clear() {
        retries.clear();
    }

    /**
     * The table is full: ends this acceptor's best eviction candidate; true when its place is free
     * now. False with no candidate, with the REFUSE policy, or when the victim ends on its own thread
     * (the new peer waits in the retry ring meanwhile).
     */
    private boolean evictOne() {
        SessionImpl victim = places.takeVictim();
        while (victim != null && !victim.isOpen()) {
            places.handedOver(); // it is ending already (its own thread): it releases its place then, and is no victim
            victim = places.takeVictim();
        }
        if (victim == null) {
            return false;
        }
        counters.increment(Counters.EVICTED);
        boolean endedNow = dispatcher.evict(victim);
        return places.handedOver() && endedNow;
    }

    /** Opens a session when the cap has room; {@code arrivedAt}: where its replies leave from (null: the route's). */
    private SessionImpl open(PeerKey peer, MemorySegment first, DatagramInfo info, PeerKey arrivedAt) {
        if (!places.reserve()) {
            return null;
        }
        return openReserved(peer, first, info, arrivedAt);
    }

    /** What {@link #openReserved} returns for a peer it refused: not null (the datagram is dealt with), never a session. */
    private static final SessionImpl REFUSED = new SessionImpl(new PeerKey(), null, null, null, 0, 0, 0);

    /**
     * Opens a session in a place already reserved: attached, published, counted, reported, then its
     * callbacks. A session state supplier or a layer factory that throws (a layer at its own limit
     * refuses that way) gives the place back; the datagram is dropped and counted as a handler error,
     * logged at a bounded rate.
     */
    private SessionImpl openReserved(PeerKey peer, MemorySegment first, DatagramInfo info, PeerKey arrivedAt) {
        SessionImpl s;
        try {
            s = new SessionImpl(peer.copy(), arrivedAt == null ? null : arrivedAt.copy(), outbound, initialState.get(),
                    readTimeoutNanos, Spans.newSpanContext(), now);
            if (layers != null) {
                s.layeredBy(layers);
            }
        } catch (RuntimeException e) {
            places.giveBack();
            counters.increment(Counters.HANDLER_ERRORS);
            errors.error("no session for {}: its initial state or session layer could not be made", peer.toSocketAddress(), e);
            return REFUSED;
        }
        dispatcher.attach(s);
        places.add(s);
        counters.increment(Counters.SESSIONS_OPENED);
        Spans.connectionStart(s, acceptorSpan);
        JfrEvents.sessionOpened(s);
        s.countReceived((int) first.byteSize()); // received even when handleConnection ends it
        dispatcher.open(s, first, info, now);
        return s;
    }

    // ---- Retries.Host --------------------------------------------------------------------------

    @Override
    public SessionImpl session(PeerKey peer) {
        return sessions.get(peer);
    }

    @Override
    public SessionImpl tryOpen(PeerKey peer, PeerKey arrivedAt, MemorySegment first, boolean truncated) {
        // a datagram that waited: its other facts are gone, where it was sent to was kept for the replies
        return open(peer, first, DatagramFacts.of(truncated), arrivedAt);
    }

    @Override
    public void deliver(SessionImpl s, MemorySegment data, boolean truncated) {
        if (!dispatcher.deliver(s, data, DatagramFacts.of(truncated), now)) {
            drops.drop(Drop.SESSION_ENDED, s.key, data.byteSize());
        }
    }

    @Override
    public void droppedTableFull(PeerKey peer, long bytes) {
        drops.drop(Drop.TABLE_FULL, peer, bytes);
    }
}
