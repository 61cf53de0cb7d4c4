package dev.abyss.server.engine.telemetry;

import dev.abyss.server.ServerStats.Counter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * One acceptor's counters: written only by its thread (plain read, release write), read by any
 * thread with acquire loads, summed by the server on {@code stats()}. No locks, no contention.
 *
 * <p>The engine's own layout: an index here is not a {@link Counter} ordinal; {@link #snapshot}
 * is the one place that maps one to the other ({@link #PUBLIC}).
 *
 * <p><b>Read order.</b> The snapshot reads the slots one by one while the acceptor writes them, in
 * index order. A slot that is a part of another (a session closed is one opened before, a GRO
 * segment is a datagram in, ...) is written after its whole, with release, and placed before it,
 * read with acquire: whoever sees the part sees the whole that preceded it. So a snapshot never
 * shows more closed sessions than opened ones, nor more GSO/GRO segments than datagrams, nor more
 * sessions ended unreachable (or forged reports) than ICMP errors, nor a dropped datagram that is not
 * in datagrams in, nor more AF_XDP frames refused than receive errors.
 */
public final class Counters {
    // ---- parts: written after their whole, read before it -------------------------------------
    public static final int SESSIONS_CLOSED = 0;        // <= SESSIONS_OPENED
    public static final int SESSIONS_UNREACHABLE = 1;   // <= UNREACHABLE
    public static final int UNREACHABLE_FORGED = 2;     // <= UNREACHABLE
    public static final int GSO_SEGMENTS = 3;           // <= DATAGRAMS_OUT
    public static final int GSO_SENDS = 4;
    public static final int GRO_SEGMENTS = 5;           // <= DATAGRAMS_IN
    public static final int GRO_RECEIVES = 6;
    public static final int TRUNCATED = 7;              // drops of received datagrams: written after their DATAGRAMS_IN
    public static final int DROPPED_TABLE_FULL = 8;
    public static final int DROPPED_MAILBOX_FULL = 9;
    public static final int DROPPED_SUSPENDED = 10;
    public static final int DROPPED_SESSION_ENDED = 11;
    public static final int PREFIX_QUOTA = 12;          // a new peer's datagram dropped (or admitted in its prefix's place): after its DATAGRAMS_IN
    // AF_XDP (issue 20): counted through the receive sink, from the transport's turn
    public static final int XDP_FRAMES_REFUSED = 13;    // <= RECEIVE_ERRORS: a refused frame is reported as a receive error first
    public static final int XDP_SOCKET_SENDS = 14;      // no whole: datagrams sent through the bound socket instead of a frame
    public static final int XDP_HOPS_CONTESTED = 15;    // no whole: frames whose next hop differed from the peer's live one (not learned)
    // ---- wholes, and counters no other is a part of --------------------------------------------
    public static final int SESSIONS_OPENED = 16;
    public static final int UNREACHABLE = 17;
    public static final int DATAGRAMS_OUT = 18;
    public static final int BYTES_OUT = 19;
    public static final int DATAGRAMS_IN = 20;
    public static final int BYTES_IN = 21;
    public static final int HANDLER_ERRORS = 22;
    public static final int EVICTED = 23;
    public static final int SEND_QUEUE_FULL = 24;
    public static final int SEND_BATCH_FULL = 25;
    public static final int POST_QUEUE_FULL = 26;
    public static final int SEND_ERRORS = 27;
    public static final int RECEIVE_ERRORS = 28;
    public static final int RECEIVE_PAUSES = 29;
    public static final int KERNEL_DROPS = 30;
    public static final int ACCEPTOR_FAILURES = 31;
    // on the open internet (issue 19)
    public static final int RATE_LIMITED = 32;
    public static final int AMPLIFICATION_LIMITED = 33;
    // ---- DTLS (dev.abyss.server.dtls): counted from any thread through Drops.countFromAnyThread ---------
    public static final int DTLS_HANDSHAKES_COMPLETED = 34;
    public static final int DTLS_HANDSHAKES_TIMED_OUT = 35;
    public static final int DTLS_HANDSHAKES_FAILED_CERTIFICATE = 36;
    public static final int DTLS_HANDSHAKES_FAILED_ALERT = 37;
    public static final int DTLS_HANDSHAKES_FAILED_OTHER = 38;
    public static final int DTLS_HANDSHAKES_BUSY = 39;
    public static final int DTLS_COOKIES_SENT = 40;
    public static final int DTLS_HELLOS_DROPPED = 41;
    public static final int DTLS_STRANGERS_DROPPED = 42;
    public static final int DTLS_RECORDS_BAD_MAC = 43;
    public static final int DTLS_RECORDS_REPLAYED = 44;
    public static final int DTLS_RECORDS_WRONG_EPOCH = 45;
    public static final int DTLS_RECORDS_MALFORMED = 46;
    public static final int DTLS_RENEGOTIATIONS_REFUSED = 47;
    public static final int COUNT = 48;

    /** The public counter of each slot, by index: the one mapping from this layout to {@link Counter}. */
    static final Counter[] PUBLIC = new Counter[COUNT];

    static {
        PUBLIC[SESSIONS_CLOSED] = Counter.SESSIONS_CLOSED;
        PUBLIC[SESSIONS_UNREACHABLE] = Counter.SESSIONS_UNREACHABLE;
        PUBLIC[UNREACHABLE_FORGED] = Counter.UNREACHABLE_FORGED;
        PUBLIC[GSO_SEGMENTS] = Counter.GSO_SEGMENTS;
        PUBLIC[GSO_SENDS] = Counter.GSO_SENDS;
        PUBLIC[GRO_SEGMENTS] = Counter.GRO_SEGMENTS;
        PUBLIC[GRO_RECEIVES] = Counter.GRO_RECEIVES;
        PUBLIC[TRUNCATED] = Counter.TRUNCATED;
        PUBLIC[DROPPED_TABLE_FULL] = Counter.DROPPED_TABLE_FULL;
        PUBLIC[DROPPED_MAILBOX_FULL] = Counter.DROPPED_MAILBOX_FULL;
        PUBLIC[DROPPED_SUSPENDED] = Counter.DROPPED_SUSPENDED;
        PUBLIC[DROPPED_SESSION_ENDED] = Counter.DROPPED_SESSION_ENDED;
        PUBLIC[HANDLER_ERRORS] = Counter.HANDLER_ERRORS;
        PUBLIC[EVICTED] = Counter.EVICTED;
        PUBLIC[SESSIONS_OPENED] = Counter.SESSIONS_OPENED;
        PUBLIC[UNREACHABLE] = Counter.UNREACHABLE;
        PUBLIC[DATAGRAMS_OUT] = Counter.DATAGRAMS_OUT;
        PUBLIC[BYTES_OUT] = Counter.BYTES_OUT;
        PUBLIC[DATAGRAMS_IN] = Counter.DATAGRAMS_IN;
        PUBLIC[BYTES_IN] = Counter.BYTES_IN;
        PUBLIC[SEND_QUEUE_FULL] = Counter.SEND_QUEUE_FULL;
        PUBLIC[SEND_BATCH_FULL] = Counter.SEND_BATCH_FULL;
        PUBLIC[POST_QUEUE_FULL] = Counter.POST_QUEUE_FULL;
        PUBLIC[SEND_ERRORS] = Counter.SEND_ERRORS;
        PUBLIC[RECEIVE_ERRORS] = Counter.RECEIVE_ERRORS;
        PUBLIC[RECEIVE_PAUSES] = Counter.RECEIVE_PAUSES;
        PUBLIC[KERNEL_DROPS] = Counter.KERNEL_DROPS;
        PUBLIC[ACCEPTOR_FAILURES] = Counter.ACCEPTOR_FAILURES;
        PUBLIC[RATE_LIMITED] = Counter.RATE_LIMITED;
        PUBLIC[AMPLIFICATION_LIMITED] = Counter.AMPLIFICATION_LIMITED;
        PUBLIC[PREFIX_QUOTA] = Counter.PREFIX_QUOTA;
        PUBLIC[XDP_FRAMES_REFUSED] = Counter.XDP_FRAMES_REFUSED;
        PUBLIC[XDP_SOCKET_SENDS] = Counter.XDP_SOCKET_SENDS;
        PUBLIC[XDP_HOPS_CONTESTED] = Counter.XDP_HOPS_CONTESTED;
        PUBLIC[DTLS_HANDSHAKES_COMPLETED] = Counter.DTLS_HANDSHAKES_COMPLETED;
        PUBLIC[DTLS_HANDSHAKES_TIMED_OUT] = Counter.DTLS_HANDSHAKES_TIMED_OUT;
        PUBLIC[DTLS_HANDSHAKES_FAILED_CERTIFICATE] = Counter.DTLS_HANDSHAKES_FAILED_CERTIFICATE;
        PUBLIC[DTLS_HANDSHAKES_FAILED_ALERT] = Counter.DTLS_HANDSHAKES_FAILED_ALERT;
        PUBLIC[DTLS_HANDSHAKES_FAILED_OTHER] = Counter.DTLS_HANDSHAKES_FAILED_OTHER;
        PUBLIC[DTLS_HANDSHAKES_BUSY] = Counter.DTLS_HANDSHAKES_BUSY;
        PUBLIC[DTLS_COOKIES_SENT] = Counter.DTLS_COOKIES_SENT;
        PUBLIC[DTLS_HELLOS_DROPPED] = Counter.DTLS_HELLOS_DROPPED;
        PUBLIC[DTLS_STRANGERS_DROPPED] = Counter.DTLS_STRANGERS_DROPPED;
        PUBLIC[DTLS_RECORDS_BAD_MAC] = Counter.DTLS_RECORDS_BAD_MAC;
        PUBLIC[DTLS_RECORDS_REPLAYED] = Counter.DTLS_RECORDS_REPLAYED;
        PUBLIC[DTLS_RECORDS_WRONG_EPOCH] = Counter.DTLS_RECORDS_WRONG_EPOCH;
        PUBLIC[DTLS_RECORDS_MALFORMED] = Counter.DTLS_RECORDS_MALFORMED;
        PUBLIC[DTLS_RENEGOTIATIONS_REFUSED] = Counter.DTLS_RENEGOTIATIONS_REFUSED;
    }

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    /** Slots kept free on each side so two acceptors' counters never share a cache line. */
    private static final int PAD = 8;

    private final long[] values = new long[COUNT + 2 * PAD];

    /**
     * A snapshot of {@code acceptors}' counters, summed, one value per {@link Counter} by ordinal
     * (what {@code ServerStats} holds). Any thread.
     */
    public static long[] snapshot(List<Drops> acceptors) {
        long[] sum = new long[COUNT];
        for (Drops d : acceptors) {
            d.addTo(sum);
        }
        long[] byPublic = new long[Counter.values().length];
        for (int i = 0; i < COUNT; i++) {
            byPublic[PUBLIC[i].ordinal()] = sum[i];
        }
        return byPublic;
    }

    /** Adds this acceptor's counters to {@code sum} (engine layout), in index order: parts before wholes. */
    void addTo(long[] sum) {
        for (int i = 0; i < COUNT; i++) {
            sum[i] += get(i);
        }
    }

    /** Owner thread only. Release: a reader that sees this write sees every earlier one (read order above). */
    public void add(int counter, long delta) {
        int i = counter + PAD;
        LONGS.setRelease(values, i, values[i] + delta);
    }

    /** Owner thread only. */
    public void increment(int counter) {
        add(counter, 1);
    }

    /** Any thread. Acquire: the slots read after this one are at least as new (read order above). */
    public long get(int counter) {
        return (long) LONGS.getAcquire(values, counter + PAD);
    }
}
