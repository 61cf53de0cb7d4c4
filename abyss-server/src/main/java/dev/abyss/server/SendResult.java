package dev.abyss.server;

/**
 * What became of a send, told apart without allocating: every send method of {@link Peer} and
 * {@link Session} returns one of these constants.
 */
public enum SendResult {
    /**
     * Queued: the datagram leaves with the acceptor's next batch. What the kernel then does with it
     * is counted in {@link ServerStats#datagramsOut()} or {@link ServerStats#sendErrors()}.
     */
    OK,
    /**
     * Refused because there is no room now: counted in {@link ServerStats#sendBatchFull()} on the
     * acceptor thread (its send batch and the kernel's buffer are full), in
     * {@link ServerStats#sendQueueFull()} from any other thread (the cross-thread send queue is full).
     * Sending again later may work.
     */
    FULL,
    /**
     * Refused because there is nobody to send it for: the session has ended, the callback that
     * owned a {@link Peer} has returned, or the server is stopping. Not counted as a drop.
     */
    CLOSED,
    /**
     * Not sent: a defence for the open internet held it back, the reply rate limit of the peer's
     * source prefix ({@link ServerStats#rateLimited()}) or the amplification limit of a peer not yet
     * validated ({@link ServerStats#amplificationLimited()}); counted there. Only when those limits
     * are configured; a send from another thread is checked when the acceptor takes it, and reads
     * {@link #OK} to its sender.
     */
    LIMITED;

    /** {@return true for {@link #OK}} */
    public boolean ok() {
        return this == OK;
    }
}
