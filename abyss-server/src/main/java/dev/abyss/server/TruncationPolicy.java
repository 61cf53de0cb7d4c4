package dev.abyss.server;

/** What to do with a datagram larger than maxDatagramSize (the kernel cut it: MSG_TRUNC). Always counted. */
public enum TruncationPolicy {
    /** Drop it (the default): a cut datagram is never delivered as if whole. */
    DROP,
    /** Deliver the part that fit; its callback sees {@link DatagramInfo#truncated()} true ({@link Peer#datagram()}). */
    DELIVER
}
