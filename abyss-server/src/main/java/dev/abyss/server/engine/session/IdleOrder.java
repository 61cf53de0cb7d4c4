package dev.abyss.server.engine.session;

/**
 * Which session to evict when the table is full (FullTablePolicy.EVICT), in O(1): two intrusive
 * lists through the sessions themselves, oldest first. {@code fresh} holds sessions that have seen
 * one datagram; a second datagram moves a session to {@code established}, which is kept in order
 * of last activity. The victim is the oldest fresh session, else the established one idle longest,
 * as the kernel's conntrack early-drop prefers unanswered entries. Owner thread only; a datagram
 * costs a few field writes, nothing allocated.
 */
public final class IdleOrder {
    static final byte NONE = 0;
    static final byte FRESH = 1;
    static final byte ESTABLISHED = 2;

    private SessionImpl freshHead;
    private SessionImpl freshTail;
    private SessionImpl establishedHead;
    private SessionImpl establishedTail;

    /** A new session (its first datagram). */
    public void added(SessionImpl s) {
        append(s, FRESH);
    }

    /** Another datagram for {@code s}. */
    public void touched(SessionImpl s) {
        if (s.idleList == ESTABLISHED && s == establishedTail) {
            return; // already the most recent: the common case of one busy peer
        }
        if (s.idleList == NONE) {
            return; // being evicted
        }
        unlink(s);
        append(s, ESTABLISHED);
    }

    /** {@code s} ended or is being evicted: no longer a candidate. */
    public void removed(SessionImpl s) {
        if (s.idleList != NONE) {
            unlink(s);
        }
    }

    /** The session to evict, or null when there is none. */
    public SessionImpl victim() {
        return freshHead != null ? freshHead : establishedHead;
    }

    private void append(SessionImpl s, byte list) {
        s.idleList = list;
        s.idleNext = null;
        if (list == FRESH) {
            s.idlePrev = freshTail;
            if (freshTail != null) {
                freshTail.idleNext = s;
            } else {
                freshHead = s;
            }
            freshTail = s;
        } else {
            s.idlePrev = establishedTail;
            if (establishedTail != null) {
                establishedTail.idleNext = s;
            } else {
                establishedHead = s;
            }
            establishedTail = s;
        }
    }

    private void unlink(SessionImpl s) {
        SessionImpl prev = s.idlePrev;
        SessionImpl next = s.idleNext;
        boolean fresh = s.idleList == FRESH;
        if (prev != null) {
            prev.idleNext = next;
        } else if (fresh) {
            freshHead = next;
        } else {
            establishedHead = next;
        }
        if (next != null) {
            next.idlePrev = prev;
        } else if (fresh) {
            freshTail = prev;
        } else {
            establishedTail = prev;
        }
        s.idlePrev = null;
        s.idleNext = null;
        s.idleList = NONE;
    }
}
