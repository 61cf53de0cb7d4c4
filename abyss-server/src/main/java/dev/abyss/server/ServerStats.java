package dev.abyss.server;

/**
 * A snapshot of a server's counters, summed over its acceptors. Every datagram the server did not
 * deliver or send is in exactly one drop counter.
 *
 * @param datagramsIn        datagrams received from the kernel (including dropped ones)
 * @param bytesIn            payload bytes received
 * @param datagramsOut       datagrams the kernel accepted for sending
 * @param bytesOut           payload bytes the kernel accepted for sending
 * @param sessionsOpened     sessions created
 * @param sessionsClosed     sessions ended, for any reason
 * @param sessionsLive       sessions alive now
 * @param droppedTableFull   datagrams from new peers dropped because the session table stayed full through every retry
 * @param droppedMailboxFull datagrams or messages dropped because a session's mailbox was full (virtual-thread mode)
 * @param droppedSuspended   datagrams from new peers refused while the server was suspended
 * @param droppedSessionEnded datagrams or messages that reached a session's mailbox but were never
 *                           handled because the session ended first (virtual-thread mode)
 * @param truncated          datagrams larger than maxDatagramSize (dropped unless the policy delivers them)
 * @param sendQueueFull      sends refused because the acceptor's send queue was full
 * @param sendErrors         datagrams the kernel refused to send (e.g. ECONNREFUSED after an ICMP unreachable)
 * @param receiveErrors      receive calls that failed with an error other than EAGAIN/EINTR
 * @param handlerErrors      sessions ended in error: a callback threw, returned null, returned an
 *                           error result or overran inlineCallbackLimit
 */
public record ServerStats(
        long datagramsIn,
        long bytesIn,
        long datagramsOut,
        long bytesOut,
        long sessionsOpened,
        long sessionsClosed,
        long sessionsLive,
        long droppedTableFull,
        long droppedMailboxFull,
        long droppedSuspended,
        long droppedSessionEnded,
        long truncated,
        long sendQueueFull,
        long sendErrors,
        long receiveErrors,
        long handlerErrors) {
}
