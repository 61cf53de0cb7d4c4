package dev.abyss.server.engine.session;

/**
 * One acceptor's sessions by source prefix, oldest first, for the per-prefix quota: when a prefix
 * is at its quota, a newcomer from it displaces {@link #oldest that prefix's own oldest session},
 * never another prefix's. Intrusive lists through the sessions (no allocation per session), one per
 * slot of a small table indexed by the quota bucket; prefixes that share a slot share its list and
 * are told apart by their prefix word, the walk bounded by {@link #MAX_WALK}. Owner thread only.
 */
public final class PrefixOrder {
    /** The most sessions looked at to find a prefix's oldest: bounds the work a crowded slot can cause. */
    public static final int MAX_WALK = 4096;

    private final SessionImpl[] heads;
    private final SessionImpl[] tails;
    private final int mask;

    /** @param slots the table's size, a power of two */
    public PrefixOrder(int slots) {
        if (slots < 1 || Integer.bitCount(slots) != 1) {
            throw new IllegalArgumentException("slots must be a power of two, was " + slots);
        }
        heads = new SessionImpl[slots];
        tails = new SessionImpl[slots];
        mask = slots - 1;
    }

    /** A new session of {@code prefix}, counted in quota bucket {@code bucket}: the youngest of its slot. */
    public void added(SessionImpl s, long prefix, int bucket) {
        int i = bucket & mask;
        s.prefix = prefix;
        s.prefixBucket = bucket;
        s.prefixListed = true;
        s.prefixNext = null;
        s.prefixPrev = tails[i];
        if (tails[i] != null) {
            tails[i].prefixNext = s;
        } else {
            heads[i] = s;
        }
        tails[i] = s;
    }

    /**
     * {@code s} ended: out of its list (unless {@link #takeOldest} took it out already).
     *
     * @return the quota bucket it was counted in, to be given back; -1 for none
     */
    public int removed(SessionImpl s) {
        int bucket = s.prefixBucket;
        if (bucket < 0) {
            return -1;
        }
        if (s.prefixListed) {
            unlink(s);
        }
        s.prefixBucket = -1;
        return bucket;
    }

    private void unlink(SessionImpl s) {
        int i = s.prefixBucket & mask;
        if (s.prefixPrev != null) {
            s.prefixPrev.prefixNext = s.prefixNext;
        } else {
            heads[i] = s.prefixNext;
        }
        if (s.prefixNext != null) {
            s.prefixNext.prefixPrev = s.prefixPrev;
        } else {
            tails[i] = s.prefixPrev;
        }
        s.prefixPrev = null;
        s.prefixNext = null;
        s.prefixListed = false;
    }

    /**
     * The oldest open session of {@code prefix} in quota bucket {@code bucket} on this acceptor, taken
     * out of its list (it is being evicted: no later newcomer picks it again while it ends; it still
     * gives its quota place back when it does), or null.
     */
    public SessionImpl takeOldest(long prefix, int bucket) {
        int walked = 0;
        for (SessionImpl s = heads[bucket & mask]; s != null && walked < MAX_WALK; s = s.prefixNext, walked++) {
            if (s.prefix == prefix && s.prefixBucket == bucket && s.isOpenLocal()) {
                unlink(s);
                return s;
            }
        }
        return null;
    }
}
