package dev.abyss.server;

/** What to do with a datagram larger than maxDatagramSize (the kernel cut it: MSG_TRUNC). Always counted. */
public enum TruncationPolicy {
    /** Drop it (the default): a cut datagram is never delivered as if whole. */
    DROP,
    /** Deliver the part that fit; {@link Session#lastDatagramTruncated()} is true during its callback. */
    DELIVER
}
