package dev.abyss.server.engine.admission;

import dev.abyss.server.engine.dispatch.Callbacks;
import dev.abyss.server.engine.session.IdleOrder;
import dev.abyss.server.engine.session.PrefixOrder;
import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionTable;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.SessionStops;
import dev.abyss.server.engine.telemetry.Spans;

/**
 * The places of one acceptor's sessions: its table, its eviction order and the server-wide
 * {@link SessionCap}. {@link #closed} is the one place where an ended session gives its place back
 * (whichever dispatcher ended it): out of the table and the eviction order, the cap released (or
 * handed to the peer an eviction made room for), counted, its stop reported after its last sends.
 * Acceptor thread only.
 */
public final class SessionPlaces implements Callbacks.Closer {
    private final SessionTable table;
    private final SessionCap cap;
    /** Eviction order, kept when the full-table policy is EVICT, else null. */
    private final IdleOrder idle;
    private final Counters counters;
    private final SessionStops stops;
    /** The session being evicted whose place goes straight to the new peer (see {@link Admission}). */
    private SessionImpl handOver;
    /** The per-prefix quota (shared) and this acceptor's sessions by prefix, or both null: no quota. */
    private final PrefixQuota quota;
    private final PrefixOrder byPrefix;

    /**
     * @param quota the per-prefix session quota shared by the acceptors, or null for none
     */
    public SessionPlaces(SessionTable table, SessionCap cap, IdleOrder idle, Counters counters, SessionStops stops,
                         PrefixQuota quota) {
        this.quota = quota;
        this.byPrefix = quota == null ? null : new PrefixOrder(orderSlots(cap));
        this.table = table;
        this.cap = cap;
        this.idle = idle;
        this.counters = counters;
        this.stops = stops;
    }

    @Override
    public void closed(SessionImpl s, SessionEnd how) {
        table.remove(s);
        if (idle != null) {
            idle.removed(s);
        }
        if (s == handOver) {
            handOver = null; // kept for the peer the eviction made room for
        } else {
            cap.release();
        }
        if (byPrefix != null) {
            int bucket = byPrefix.removed(s);
            if (bucket >= 0) {
                quota.release(bucket);
            }
        }
        counters.increment(Counters.SESSIONS_CLOSED);
        if (how == SessionEnd.ERROR) {
            counters.increment(Counters.HANDLER_ERRORS);
        }
        if (how == SessionEnd.USER) {
            Spans.socketShutdown(s);
        }
        stops.ended(s);
    }

    /** A session that may take its place now: in the table and, with EVICT, last in the eviction order. */
    void add(SessionImpl s) {
        table.put(s);
        if (idle != null) {
            idle.added(s);
        }
    }

    /** Another datagram for {@code s}: later in the eviction order. */
    public void touched(SessionImpl s) {
        if (idle != null) {
            idle.touched(s);
        }
    }

    // ---- the per-prefix quota ----------------------------------------------------------------------

    /** Slots of this acceptor's prefix lists: about one per session the cap allows, 64..65,536. */
    private static int orderSlots(SessionCap cap) {
        int want = cap.max() == SessionCap.UNLIMITED ? 1 << 16 : Math.clamp(cap.max(), 64, 1 << 16);
        return Integer.highestOneBit(want - 1) << 1;
    }

    /** {@return true with FullTablePolicy.EVICT} */
    boolean evicts() {
        return idle != null;
    }

    /** {@return the quota, or null when there is none} */
    PrefixQuota quota() {
        return quota;
    }

    /** {@code s} of {@code prefix} took a place reserved in quota bucket {@code bucket}. */
    void addToPrefix(SessionImpl s, long prefix, int bucket) {
        byPrefix.added(s, prefix, bucket);
    }

    /** {@return the oldest open session of {@code prefix} (quota bucket {@code bucket}) on this acceptor, taken as a victim, or null} */
    SessionImpl oldestOfPrefix(long prefix, int bucket) {
        return byPrefix.takeOldest(prefix, bucket);
    }

    /** A place reserved (or handed over) that no session took after all: back under the cap. */
    void giveBack() {
        cap.release();
    }

    /** Takes a place under the cap; false when it is reached. */
    boolean reserve() {
        return cap.tryReserve();
    }

    /**
     * The best eviction candidate, taken out of the eviction order with its place marked for hand-over
     * (its end will not release the cap); null with no candidate or without EVICT.
     */
    SessionImpl takeVictim() {
        if (idle == null) {
            return null;
        }
        SessionImpl victim = idle.victim();
        if (victim != null) {
            idle.removed(victim);
            handOver = victim;
        }
        return victim;
    }

    /**
     * After an eviction: true when the victim has ended and its place is the new peer's; false when it
     * ends later, on its own thread, and releases its place then.
     */
    boolean handedOver() {
        boolean done = handOver == null;
        handOver = null;
        return done;
    }
}
