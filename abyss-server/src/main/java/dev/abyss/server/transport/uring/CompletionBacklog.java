package dev.abyss.server.transport.uring;

/**
 * Completions copied out of the CQ ring and not handled yet, oldest first. The transport reaps
 * the whole CQ at once (send completions are finished there, which frees their slots) and leaves
 * the rest here, so that a send which has to wait for a free slot inside a handler can reap again
 * without re-entering the dispatch of received datagrams: those wait their turn, in order.
 *
 * <p>Sized to the CQ; it doubles when more completions wait (CQEs reaped by a nested wait while
 * the outer turn still holds some), never per completion. Owner thread only.
 */
final class CompletionBacklog {
    private long[] userData;
    private int[] results;
    private int[] flags;
    private int head;
    private int count;

    /** @param capacity completions held before growing: the CQ's entries (a power of two) */
    CompletionBacklog(int capacity) {
        userData = new long[capacity];
        results = new int[capacity];
        flags = new int[capacity];
    }

    /** Appends a completion. */
    void add(long data, int res, int cqeFlags) {
        if (count == userData.length) {
            grow();
        }
        int i = (head + count) % userData.length;
        userData[i] = data;
        results[i] = res;
        flags[i] = cqeFlags;
        count++;
    }

    /** {@return true when no completion waits} */
    boolean isEmpty() {
        return count == 0;
    }

    /** {@return the oldest completion's user data} */
    long userData() {
        return userData[head];
    }

    /** {@return the oldest completion's result} */
    int res() {
        return results[head];
    }

    /** {@return the oldest completion's flags} */
    int flags() {
        return flags[head];
    }

    /** Drops the oldest completion (read it first). */
    void remove() {
        head = (head + 1) % userData.length;
        count--;
    }

    private void grow() {
        int n = userData.length;
        long[] d = new long[2 * n];
        int[] r = new int[2 * n];
        int[] f = new int[2 * n];
        for (int k = 0; k < count; k++) {
            int i = (head + k) % n;
            d[k] = userData[i];
            r[k] = results[i];
            f[k] = flags[i];
        }
        userData = d;
        results = r;
        flags = f;
        head = 0;
    }
}
