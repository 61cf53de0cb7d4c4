package dev.abyss.server;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * A snapshot of a server's counters, summed over its acceptors, from {@link Server#stats()}. Every
 * datagram the server did not deliver or send is in exactly one drop counter.
 *
 * <p>Read a counter by its accessor ({@link #datagramsIn()}) or by {@link Counter} ({@link #get}),
 * or all of them with {@link #asMap()}. New counters are added to {@link Counter} as the server
 * learns to count more; code that reads counters keeps working.
 */
public final class ServerStats {

    /**
     * The counters, each documented with what it counts. One counter per cause: a drop or refusal
     * is counted once, under the one counter that names why. Declaration order is for reading
     * ({@link #asMap()}, {@link #toString()}); it is no layout, code should not rely on ordinals.
     */
    public enum Counter {
        /** Datagrams received from the kernel (including dropped ones). */
        DATAGRAMS_IN,
        /** Payload bytes received. */
        BYTES_IN,
        /** Datagrams the kernel accepted for sending. */
        DATAGRAMS_OUT,
        /** Payload bytes the kernel accepted for sending. */
        BYTES_OUT,
        /** Sessions created. */
        SESSIONS_OPENED,
        /** Sessions ended, for any reason. Never more than {@link #SESSIONS_OPENED} in one snapshot. */
        SESSIONS_CLOSED,
        /** Datagrams from new peers dropped because the session table stayed full through every retry, or the retry buffer was full. */
        DROPPED_TABLE_FULL,
        /**
         * Datagrams dropped because their session's mailbox was full ({@link DispatchMode#VIRTUAL_THREADS}:
         * the session's thread is behind by {@code mailboxCapacity}; INLINE delivers at once and never counts here).
         */
        DROPPED_MAILBOX_FULL,
        /**
         * Messages {@link Session#post} refused because the queue they wait in was full: the session's
         * mailbox (VIRTUAL_THREADS) or the acceptor's inbox (INLINE). The poster saw {@code false}; a
         * post to an ended session also returns {@code false} and is not counted (nothing was queued).
         */
        POST_QUEUE_FULL,
        /** Datagrams from new peers refused while the server was suspended or stopping. */
        DROPPED_SUSPENDED,
        /**
         * Datagrams and posted messages that were accepted for a session but never handled because the
         * session ended first (one cause, both kinds: what was waiting when it ended).
         */
        DROPPED_SESSION_ENDED,
        /** Datagrams larger than maxDatagramSize (dropped unless the policy delivers them cut). */
        TRUNCATED,
        /**
         * Sends from a thread other than the acceptor's (a virtual-thread handler, a scheduler, ...)
         * refused because the acceptor's cross-thread send queue ({@code sendQueueBytes}) was full.
         * The sender saw {@link SendResult#FULL}.
         */
        SEND_QUEUE_FULL,
        /**
         * Sends on the acceptor's own thread (INLINE and stateless handlers, anything the acceptor
         * runs) refused because the transport's send batch and the socket's send buffer were both
         * full: the kernel is not taking datagrams out as fast as they are sent. The sender saw
         * {@link SendResult#FULL}.
         */
        SEND_BATCH_FULL,
        /** Datagrams the kernel refused to send (e.g. ECONNREFUSED after an ICMP unreachable). */
        SEND_ERRORS,
        /**
         * Receives that failed with an error other than EAGAIN/EINTR (and other than an ICMP error
         * about a peer, counted in {@link #UNREACHABLE}); the acceptor goes on receiving. Pauses are
         * not errors: see {@link #RECEIVE_PAUSES}.
         */
        RECEIVE_ERRORS,
        /**
         * The transport stopped reading for a moment and resumed by itself (io_uring: its provided
         * buffers ran out, {@code -ENOBUFS}, and the receive was re-armed; or its completion queue was
         * full and the kernel kept the completions until they were fetched). No datagram lost: they
         * wait in the socket; what the socket drops meanwhile is in {@link #KERNEL_DROPS}.
         */
        RECEIVE_PAUSES,
        /** Sessions ended in error: a callback threw, returned null, returned an error result or overran inlineCallbackLimit. */
        HANDLER_ERRORS,
        /** Failures of an acceptor's duty cycle that it survived (see {@link Server#failure()}). */
        ACCEPTOR_FAILURES,
        /**
         * Datagrams the kernel dropped before the server could read them: the socket's receive buffer
         * was full (SO_RXQ_OVFL), or, io_uring, a receive completion the kernel could not post (CQ
         * overflow; rare, the kernel keeps them when it can). One cause: the server read too slowly
         * for the socket; the remedy is the same (a larger receive buffer, more acceptors).
         */
        KERNEL_DROPS,
        /** ICMP errors about peers (port, host or network unreachable) read from the sockets' error queues. */
        UNREACHABLE,
        /** Sessions ended because their peer's port was reported unreachable (handleError with a PortUnreachableException). */
        SESSIONS_UNREACHABLE,
        /**
         * ICMP port unreachable errors about a peer with a session that were not believed: their quote
         * of the datagram they answer matched none of the last datagrams sent to that peer (forged by
         * an off-path host, or quoting too little to tell). The session went on. Part of {@link #UNREACHABLE}.
         */
        UNREACHABLE_FORGED,
        /** Sessions ended to make room for a new peer in a full table ({@link FullTablePolicy#EVICT}). */
        EVICTED,
        /** Kernel sends that carried several datagrams to one peer as UDP_SEGMENT (GSO) segments. */
        GSO_SENDS,
        /** Datagrams sent as segments of a {@link #GSO_SENDS} send (also counted in {@link #DATAGRAMS_OUT}). */
        GSO_SEGMENTS,
        /** Coalesced receives (UDP_GRO) split into their datagrams. */
        GRO_RECEIVES,
        /** Datagrams delivered from a {@link #GRO_RECEIVES} receive (also counted in {@link #DATAGRAMS_IN}). */
        GRO_SEGMENTS,
        // ---- on the open internet (ServerConfig.Builder#rateLimit and the options beside it)
        /**
         * Replies not sent because their peer's source prefix was over its reply rate
         * ({@link ServerConfig.Builder#rateLimit}); the sender saw {@link SendResult#LIMITED}.
         */
        RATE_LIMITED,
        /**
         * Replies not sent because they would have taken the bytes sent to a peer not yet validated past
         * {@link ServerConfig.Builder#amplificationLimit F} × the bytes received from it (a stateless
         * reply: F × its request); the sender saw {@link SendResult#LIMITED}.
         */
        AMPLIFICATION_LIMITED,
        /**
         * New peers that met their source prefix's session quota ({@link ServerConfig.Builder#sessionsPerPrefix}):
         * dropped, or, with {@link FullTablePolicy#EVICT}, admitted in place of that prefix's own oldest
         * session (also counted in {@link #EVICTED}).
         */
        PREFIX_QUOTA,
        // ---- DTLS ({@link ServerConfig.Builder#dtls}); zero on a plaintext server
        /** DTLS handshakes completed: handleConnection ran (or is about to). */
        DTLS_HANDSHAKES_COMPLETED,
        /** DTLS handshakes that did not complete within {@link Dtls#handshakeTimeout()}. */
        DTLS_HANDSHAKES_TIMED_OUT,
        /** DTLS handshakes that failed on a certificate: the client's was refused, or missing under {@link Dtls.ClientAuth#NEED}. */
        DTLS_HANDSHAKES_FAILED_CERTIFICATE,
        /** DTLS handshakes the client ended with a fatal alert. */
        DTLS_HANDSHAKES_FAILED_ALERT,
        /** DTLS handshakes that failed otherwise: no common cipher suite or protocol, a protocol error. */
        DTLS_HANDSHAKES_FAILED_OTHER,
        /**
         * ClientHellos with a valid cookie dropped because the acceptor had {@link Dtls#maxHandshakes()}
         * handshakes in progress; the client retransmits and gets in once one finishes or times out.
         */
        DTLS_HANDSHAKES_BUSY,
        /** HelloVerifyRequests sent: cookie-less (or stale-cookie) ClientHellos answered statelessly. */
        DTLS_COOKIES_SENT,
        /**
         * ClientHellos from peers without a session dropped before any state: a cookie that does not
         * verify, a hello that does not parse, or one too small to answer without amplification.
         */
        DTLS_HELLOS_DROPPED,
        /** Datagrams from peers without a session that were no ClientHello: dropped before any state. */
        DTLS_STRANGERS_DROPPED,
        /** Records of a session that failed authentication (bad MAC): dropped; the session goes on. */
        DTLS_RECORDS_BAD_MAC,
        /** Records of a session seen before (the replay window): dropped; the session goes on. */
        DTLS_RECORDS_REPLAYED,
        /** Records of a session from an epoch it is not in: dropped; the session goes on. */
        DTLS_RECORDS_WRONG_EPOCH,
        /** Datagrams of a session that are no well-formed DTLS records: dropped; the session goes on. */
        DTLS_RECORDS_MALFORMED,
        /** Renegotiations (a new handshake on an established session) refused: the records are dropped; the session goes on. */
        DTLS_RENEGOTIATIONS_REFUSED,
        // ---- AF_XDP ({@link TransportKind#XDP}); zero on the other transports
        /**
         * Frames steered to the AF_XDP socket that its parser refused (truncated, bad lengths or
         * checksum, not for the bound address): dropped; each is also one of {@link #RECEIVE_ERRORS}.
         */
        XDP_FRAMES_REFUSED,
        /**
         * Datagrams the AF_XDP transport sent through its bound socket instead of a frame: no next hop
         * known (or contested) for the peer, too large for a frame or the link's MTU, or no frame free.
         */
        XDP_SOCKET_SENDS,
        /**
         * Frames whose layer-2 next hop (source MAC, VLAN) differed from the one their peer's replies
         * use while that one was live: not learned (a forged source on the link, or a peer moving), and
         * replies to the peer go through the bound socket until it settles (README, AF_XDP); also frames
         * of a peer whose place in the hop table another peer's live hop held.
         */
        XDP_HOPS_CONTESTED;

        private static final Counter[] ALL = values();
    }

    private final long[] values;

    /** @param values one value per {@link Counter}, in declaration order */
    ServerStats(long[] values, long sessionsLive) {
        if (values.length != Counter.ALL.length) {
            throw new IllegalArgumentException("expected " + Counter.ALL.length + " counters, got " + values.length);
        }
        this.values = values.clone();
        this.sessionsLive = sessionsLive;
    }

    /** The places taken under the session cap when the snapshot was taken: one consistent count. */
    private final long sessionsLive;

    /**
     * The value of {@code counter}.
     *
     * @param counter which counter
     * @return its value
     */
    public long get(Counter counter) {
        return values[counter.ordinal()];
    }

    /** {@return every counter, in declaration order} */
    public Map<Counter, Long> asMap() {
        Map<Counter, Long> m = new EnumMap<>(Counter.class);
        for (Counter c : Counter.ALL) {
            m.put(c, values[c.ordinal()]);
        }
        return m;
    }

    /** {@return the value of {@link Counter#DATAGRAMS_IN}} */
    public long datagramsIn() {
        return get(Counter.DATAGRAMS_IN);
    }

    /** {@return the value of {@link Counter#BYTES_IN}} */
    public long bytesIn() {
        return get(Counter.BYTES_IN);
    }

    /** {@return the value of {@link Counter#DATAGRAMS_OUT}} */
    public long datagramsOut() {
        return get(Counter.DATAGRAMS_OUT);
    }

    /** {@return the value of {@link Counter#BYTES_OUT}} */
    public long bytesOut() {
        return get(Counter.BYTES_OUT);
    }

    /** {@return the value of {@link Counter#SESSIONS_OPENED}} */
    public long sessionsOpened() {
        return get(Counter.SESSIONS_OPENED);
    }

    /** {@return the value of {@link Counter#SESSIONS_CLOSED}} */
    public long sessionsClosed() {
        return get(Counter.SESSIONS_CLOSED);
    }

    /**
     * {@return sessions alive when the snapshot was taken} Read as one count (the places taken under
     * the server's session cap), not as opened minus closed: the acceptors open and close sessions
     * while a snapshot reads its counters one by one, so that difference can be off by the sessions
     * that came or went meanwhile. This one is never negative and never above numConnections; opened
     * minus closed catches up with it once the server is quiet.
     */
    public long sessionsLive() {
        return sessionsLive;
    }

    /** {@return the value of {@link Counter#DROPPED_TABLE_FULL}} */
    public long droppedTableFull() {
        return get(Counter.DROPPED_TABLE_FULL);
    }

    /** {@return the value of {@link Counter#DROPPED_MAILBOX_FULL}} */
    public long droppedMailboxFull() {
        return get(Counter.DROPPED_MAILBOX_FULL);
    }

    /** {@return the value of {@link Counter#POST_QUEUE_FULL}} */
    public long postQueueFull() {
        return get(Counter.POST_QUEUE_FULL);
    }

    /** {@return the value of {@link Counter#DROPPED_SUSPENDED}} */
    public long droppedSuspended() {
        return get(Counter.DROPPED_SUSPENDED);
    }

    /** {@return the value of {@link Counter#DROPPED_SESSION_ENDED}} */
    public long droppedSessionEnded() {
        return get(Counter.DROPPED_SESSION_ENDED);
    }

    /** {@return the value of {@link Counter#TRUNCATED}} */
    public long truncated() {
        return get(Counter.TRUNCATED);
    }

    /** {@return the value of {@link Counter#SEND_QUEUE_FULL}} */
    public long sendQueueFull() {
        return get(Counter.SEND_QUEUE_FULL);
    }

    /** {@return the value of {@link Counter#SEND_BATCH_FULL}} */
    public long sendBatchFull() {
        return get(Counter.SEND_BATCH_FULL);
    }

    /** {@return the value of {@link Counter#SEND_ERRORS}} */
    public long sendErrors() {
        return get(Counter.SEND_ERRORS);
    }

    /** {@return the value of {@link Counter#RECEIVE_ERRORS}} */
    public long receiveErrors() {
        return get(Counter.RECEIVE_ERRORS);
    }

    /** {@return the value of {@link Counter#RECEIVE_PAUSES}} */
    public long receivePauses() {
        return get(Counter.RECEIVE_PAUSES);
    }

    /** {@return the value of {@link Counter#HANDLER_ERRORS}} */
    public long handlerErrors() {
        return get(Counter.HANDLER_ERRORS);
    }

    /** {@return the value of {@link Counter#ACCEPTOR_FAILURES}} */
    public long acceptorFailures() {
        return get(Counter.ACCEPTOR_FAILURES);
    }

    /** {@return the value of {@link Counter#KERNEL_DROPS}} */
    public long kernelDrops() {
        return get(Counter.KERNEL_DROPS);
    }

    /** {@return the value of {@link Counter#UNREACHABLE}} */
    public long unreachable() {
        return get(Counter.UNREACHABLE);
    }

    /** {@return the value of {@link Counter#EVICTED}} */
    public long evicted() {
        return get(Counter.EVICTED);
    }

    /** {@return the value of {@link Counter#UNREACHABLE_FORGED}} */
    public long unreachableForged() {
        return get(Counter.UNREACHABLE_FORGED);
    }

    /** {@return the value of {@link Counter#SESSIONS_UNREACHABLE}} */
    public long sessionsUnreachable() {
        return get(Counter.SESSIONS_UNREACHABLE);
    }

    /** {@return the value of {@link Counter#GSO_SENDS}} */
    public long gsoSends() {
        return get(Counter.GSO_SENDS);
    }

    /** {@return the value of {@link Counter#GSO_SEGMENTS}} */
    public long gsoSegments() {
        return get(Counter.GSO_SEGMENTS);
    }

    /** {@return the value of {@link Counter#GRO_RECEIVES}} */
    public long groReceives() {
        return get(Counter.GRO_RECEIVES);
    }

    /** {@return the value of {@link Counter#GRO_SEGMENTS}} */
    public long groSegments() {
        return get(Counter.GRO_SEGMENTS);
    }

    /** {@return the value of {@link Counter#RATE_LIMITED}} */
    public long rateLimited() {
        return get(Counter.RATE_LIMITED);
    }

    /** {@return the value of {@link Counter#AMPLIFICATION_LIMITED}} */
    public long amplificationLimited() {
        return get(Counter.AMPLIFICATION_LIMITED);
    }

    /** {@return the value of {@link Counter#PREFIX_QUOTA}} */
    public long prefixQuota() {
        return get(Counter.PREFIX_QUOTA);
    }

    /** {@return the value of {@link Counter#XDP_FRAMES_REFUSED}} */
    public long xdpFramesRefused() {
        return get(Counter.XDP_FRAMES_REFUSED);
    }

    /** {@return the value of {@link Counter#XDP_SOCKET_SENDS}} */
    public long xdpSocketSends() {
        return get(Counter.XDP_SOCKET_SENDS);
    }

    /** {@return the value of {@link Counter#XDP_HOPS_CONTESTED}} */
    public long xdpHopsContested() {
        return get(Counter.XDP_HOPS_CONTESTED);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ServerStats other && Arrays.equals(values, other.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    /** {@return the value of {@link Counter#DTLS_HANDSHAKES_COMPLETED}} */
    public long dtlsHandshakesCompleted() {
        return get(Counter.DTLS_HANDSHAKES_COMPLETED);
    }

    /** {@return DTLS handshakes failed, every cause: timed out, certificate, alert, other} */
    public long dtlsHandshakesFailed() {
        return get(Counter.DTLS_HANDSHAKES_TIMED_OUT) + get(Counter.DTLS_HANDSHAKES_FAILED_CERTIFICATE)
                + get(Counter.DTLS_HANDSHAKES_FAILED_ALERT) + get(Counter.DTLS_HANDSHAKES_FAILED_OTHER);
    }

    /** {@return DTLS records dropped, every cause: bad MAC, replayed, wrong epoch, malformed} */
    public long dtlsRecordsRejected() {
        return get(Counter.DTLS_RECORDS_BAD_MAC) + get(Counter.DTLS_RECORDS_REPLAYED) + get(Counter.DTLS_RECORDS_WRONG_EPOCH)
                + get(Counter.DTLS_RECORDS_MALFORMED);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("ServerStats[");
        for (Counter c : Counter.ALL) {
            if (c.ordinal() > 0) {
                b.append(", ");
            }
            b.append(camel(c.name())).append('=').append(values[c.ordinal()]);
            if (c == Counter.SESSIONS_CLOSED) {
                b.append(", sessionsLive=").append(sessionsLive());
            }
        }
        return b.append(']').toString();
    }

    private static String camel(String name) {
        StringBuilder b = new StringBuilder();
        boolean up = false;
        for (char ch : name.toLowerCase(java.util.Locale.ROOT).toCharArray()) {
            if (ch == '_') {
                up = true;
            } else {
                b.append(up ? Character.toUpperCase(ch) : ch);
                up = false;
            }
        }
        return b.toString();
    }
}
