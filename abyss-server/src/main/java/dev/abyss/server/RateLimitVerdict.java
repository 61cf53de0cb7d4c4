package dev.abyss.server;

/**
 * What {@link Peer#rateLimit()} says about replying to a peer now, so a handler can decide before
 * it builds a reply: send it, send a minimal one (a "slip", as DNS servers' response rate limiting
 * does), or send nothing.
 */
public enum RateLimitVerdict {
    /** Under the limit (or no limit applies: none configured, the peer validated, AF_UNIX): reply as usual. */
    UNDER,
    /**
     * Over the limit, and this is the one in {@code rateLimitSlip} that may still be answered: the
     * next datagram sent to this peer passes the rate limit (the amplification limit still applies).
     * Send a minimal reply that makes an honest client retry another way (DNS: an empty answer with
     * TC=1, so it comes back over TCP; a protocol with tokens: a retry carrying one).
     */
    SLIP,
    /** Over the limit: a reply now is not sent (counted in {@link ServerStats#rateLimited()}); build none. */
    OVER
}
