package dev.abyss.server.engine.telemetry;

/**
 * Why a datagram or message was not handled or not sent: its counter and its JFR cause, in one
 * place. One cause, one counter: a counter never sums two causes.
 */
public enum Drop {
    /** A new peer's datagram: the session table stayed full (or the retry ring was). */
    TABLE_FULL("table_full", Counters.DROPPED_TABLE_FULL),
    /** A datagram for a session whose mailbox was full (VIRTUAL_THREADS). */
    MAILBOX_FULL("mailbox_full", Counters.DROPPED_MAILBOX_FULL),
    /** A {@code post} refused: the session's mailbox or the acceptor's inbox was full. */
    POST_QUEUE_FULL("post_queue_full", Counters.POST_QUEUE_FULL),
    /** A new peer's datagram while suspended or stopping. */
    SUSPENDED("suspended", Counters.DROPPED_SUSPENDED),
    /** A datagram or message accepted for a session that ended before handling it. */
    SESSION_ENDED("session_ended", Counters.DROPPED_SESSION_ENDED),
    /** A datagram larger than maxDatagramSize: dropped (TruncationPolicy.DROP) or delivered cut (DELIVER), counted either way. */
    TRUNCATED("truncated", Counters.TRUNCATED),
    /** A send from a thread other than the acceptor's: the cross-thread send queue was full. */
    SEND_QUEUE_FULL("send_queue_full", Counters.SEND_QUEUE_FULL),
    /** A send on the acceptor thread: the transport's batch and the socket's send buffer were full. */
    SEND_BATCH_FULL("send_batch_full", Counters.SEND_BATCH_FULL),
    /** A datagram the kernel refused to send. */
    SEND_ERROR("send_error", Counters.SEND_ERRORS),
    /**
     * An ICMP port unreachable about a peer with a session whose quote matches none of the last
     * datagrams sent to that peer: forged (or too short to tell), ignored; the session goes on.
     */
    UNREACHABLE_FORGED("unreachable_forged", Counters.UNREACHABLE_FORGED),
    /** A reply held back: its peer's source prefix was over its reply rate. */
    RATE_LIMITED("rate_limited", Counters.RATE_LIMITED),
    /** A reply held back: it would have sent an unvalidated peer more than F times what it sent. */
    AMPLIFICATION_LIMITED("amplification_limited", Counters.AMPLIFICATION_LIMITED),
    /** A new peer's datagram: its source prefix was at its session quota and no session of its own could make room. */
    PREFIX_QUOTA("prefix_quota", Counters.PREFIX_QUOTA),
    /** An AF_XDP frame for the server's port the transport's parser refused (malformed, or not ours to take). */
    XDP_FRAME_REFUSED("xdp_frame_refused", Counters.XDP_FRAMES_REFUSED);

    /** The cause as the {@code dev.abyss.Drop} JFR event names it. */
    public final String cause;
    /** The {@link Counters} index it is counted under. */
    public final int counter;

    Drop(String cause, int counter) {
        this.cause = cause;
        this.counter = counter;
    }
}
