package dev.abyss.server.engine.session;

import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;

/**
 * One acceptor's sessions by peer address: open addressing with linear probing, the address stored
 * inline in a {@code long[]} (three longs per slot: the IPv6 high half or 0, the IPv6 low half or
 * the IPv4 address, and family, port and scope id packed), so a lookup compares keys without
 * following a pointer and allocates nothing.
 *
 * <p>One writer, the acceptor; readers on any thread ({@code Server.session(address)}) without
 * locks: the writer stores a slot's key words, then publishes its session with a release store;
 * a reader loads the session with acquire, compares the key words, and loads the session again to
 * be sure the slot was not reused in between. Removal leaves a tombstone (slots never move under a
 * reader); growth or a tombstone clean-up builds a new table and publishes it whole, readers of the
 * old one see it as it was. AF_UNIX peers (rare: their paths do not fit inline) keep the path's hash
 * inline and are compared through the session's own key.
 */
public final class SessionTable {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(SessionImpl[].class);
    /** A removed entry: probing continues past it, inserts may reuse it. */
    private static final SessionImpl TOMBSTONE = new SessionImpl(new PeerKey(), null, null, null, 0, 0, 0);
    private static final int MIN_CAPACITY = 64;

    private record Table(long[] keys, SessionImpl[] slots, int mask) {
        static Table of(int capacity) {
            return new Table(new long[3 * capacity], new SessionImpl[capacity], capacity - 1);
        }
    }

    private volatile Table table = Table.of(MIN_CAPACITY);
    private int size;
    private int used; // live entries + tombstones: what the probe lengths depend on

    private static long meta(PeerKey k) {
        return (long) k.family() << 48 | (long) k.port() << 32 | (k.scopeId() & 0xFFFF_FFFFL);
    }

    private static long hi(PeerKey k) {
        return k.family() == Net.AF_UNIX ? 0 : k.hi();
    }

    private static long lo(PeerKey k) {
        return k.family() == Net.AF_UNIX ? k.hashCode() : k.lo();
    }

    private static int spread(long hi, long lo, long meta) {
        long h = hi * 0x9E3779B97F4A7C15L ^ lo * 0xC2B2AE3D27D4EB4FL ^ meta * 0x165667B19E3779F9L;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ h >>> 32);
    }

    /** The session of {@code key}, or null. Any thread. */
    public SessionImpl get(PeerKey key) {
        long hi = hi(key);
        long lo = lo(key);
        long meta = meta(key);
        boolean unix = key.family() == Net.AF_UNIX;
        while (true) {
            Table t = table;
            long[] keys = t.keys;
            SessionImpl[] slots = t.slots;
            int i = spread(hi, lo, meta) & t.mask;
            boolean retry = false;
            while (true) {
                SessionImpl s = (SessionImpl) SLOT.getAcquire(slots, i);
                if (s == null) {
                    break;
                }
                if (s != TOMBSTONE) {
                    int k = 3 * i;
                    if (keys[k] == hi && keys[k + 1] == lo && keys[k + 2] == meta && (!unix || key.equals(s.key))) {
                        if (SLOT.getAcquire(slots, i) == s) {
                            return s;
                        }
                        retry = true; // reused while we compared: look again
                        break;
                    }
                }
                i = (i + 1) & t.mask;
            }
            if (!retry) {
                return null;
            }
        }
    }

    /** Adds {@code s} under its key, which must not be present. Owner thread. */
    public void put(SessionImpl s) {
        Table t = table;
        if ((used + 1) * 4L > (t.mask + 1) * 3L) {
            t = rebuild();
        }
        PeerKey key = s.key;
        long hi = hi(key);
        long lo = lo(key);
        long meta = meta(key);
        int i = spread(hi, lo, meta) & t.mask;
        while (true) {
            SessionImpl at = t.slots[i];
            if (at == null || at == TOMBSTONE) {
                if (at == null) {
                    used++;
                }
                int k = 3 * i;
                t.keys[k] = hi;
                t.keys[k + 1] = lo;
                t.keys[k + 2] = meta;
                SLOT.setRelease(t.slots, i, s); // publishes the key words with it
                size++;
                return;
            }
            i = (i + 1) & t.mask;
        }
    }

    /** Removes {@code s} if it is the session under its key. Owner thread. */
    public boolean remove(SessionImpl s) {
        Table t = table;
        PeerKey key = s.key;
        int i = spread(hi(key), lo(key), meta(key)) & t.mask;
        while (true) {
            SessionImpl at = t.slots[i];
            if (at == null) {
                return false;
            }
            if (at == s) {
                SLOT.setRelease(t.slots, i, TOMBSTONE);
                size--;
                return true;
            }
            i = (i + 1) & t.mask;
        }
    }

    /** A new table, twice as large when more than half full, else the same size without tombstones. */
    private Table rebuild() {
        Table old = table;
        int capacity = old.mask + 1;
        if (size * 2L >= capacity) {
            capacity *= 2;
        }
        Table t = Table.of(capacity);
        for (int j = 0; j < old.slots.length; j++) {
            SessionImpl s = old.slots[j];
            if (s != null && s != TOMBSTONE) {
                int k = 3 * j;
                long hi = old.keys[k];
                long lo = old.keys[k + 1];
                long meta = old.keys[k + 2];
                int i = spread(hi, lo, meta) & t.mask;
                while (t.slots[i] != null) {
                    i = (i + 1) & t.mask;
                }
                t.keys[3 * i] = hi;
                t.keys[3 * i + 1] = lo;
                t.keys[3 * i + 2] = meta;
                t.slots[i] = s;
            }
        }
        used = size;
        table = t; // volatile: publishes the whole new table
        return t;
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Every live session (weakly consistent from other threads). */
    public void forEach(Consumer<? super SessionImpl> action) {
        SessionImpl[] slots = table.slots;
        for (int i = 0; i < slots.length; i++) {
            SessionImpl s = (SessionImpl) SLOT.getAcquire(slots, i);
            if (s != null && s != TOMBSTONE) {
                action.accept(s);
            }
        }
    }

    /** A snapshot of the live sessions, for loops that end sessions while they go (owner thread). */
    public java.util.List<SessionImpl> snapshot() {
        java.util.ArrayList<SessionImpl> all = new java.util.ArrayList<>(size);
        forEach(all::add);
        return all;
    }
}
