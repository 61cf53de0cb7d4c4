package dev.abyss.server.engine.telemetry;

/** Why a datagram or message was not handled or not sent: its counter and its JFR cause, in one place. */
public enum Drop {
    TABLE_FULL("table_full", Counters.DROPPED_TABLE_FULL),
    MAILBOX_FULL("mailbox_full", Counters.DROPPED_MAILBOX_FULL),
    SUSPENDED("suspended", Counters.DROPPED_SUSPENDED),
    SESSION_ENDED("session_ended", Counters.DROPPED_SESSION_ENDED),
    TRUNCATED("truncated", Counters.TRUNCATED),
    SEND_QUEUE_FULL("send_queue_full", Counters.SEND_QUEUE_FULL),
    SEND_ERROR("send_error", Counters.SEND_ERRORS);

    /** The cause as the {@code dev.abyss.Drop} JFR event names it. */
    public final String cause;
    /** The {@link Counters} index it is counted under. */
    public final int counter;

    Drop(String cause, int counter) {
        this.cause = cause;
        this.counter = counter;
    }
}
