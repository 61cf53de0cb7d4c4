package dev.abyss.server;

/** Where handler callbacks run. */
public enum DispatchMode {
    /**
     * On the acceptor thread, zero-copy: the handler must not block. The fastest mode, and the only
     * one for a {@link SegmentHandler}.
     */
    INLINE,
    /**
     * One virtual thread per session with a bounded mailbox; datagrams are copied and the handler may
     * block. A full mailbox drops the datagram and counts it, it never blocks an acceptor.
     */
    VIRTUAL_THREADS
}
