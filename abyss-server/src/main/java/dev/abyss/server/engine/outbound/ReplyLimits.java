package dev.abyss.server.engine.outbound;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.RateLimitVerdict;
import dev.abyss.server.engine.prefix.Prefixes;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.telemetry.Drop;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The reply limits of one acceptor's {@link Outbox}, asked once per datagram before it enters the
 * transport: may {@code length} more bytes go to this peer? Two rules, for peers not validated
 * ({@link dev.abyss.server.Peer#markValidated()}):
 * <ul>
 *   <li><b>amplification</b>: a session's unvalidated peer is sent at most F × the bytes received
 *       from it; a stateless reply at most F × its request (the request being handled; a
 *       {@code Server.send} outside a callback has no request and only the rate applies);</li>
 *   <li><b>rate</b>: one reply from the {@link ReplyRates} budget of the peer's source prefix,
 *       shared by every acceptor; a slip granted by {@link #verdict} passes once.</li>
 * </ul>
 * Nothing here exists when neither rule is configured ({@link Outbox} holds null), so the path
 * without limits is one null check per send. Acceptor thread, except {@link #verdict} and
 * {@link #over} (any thread).
 */
public final class ReplyLimits {
    private final Prefixes prefixes;
    /** Null: no rate limit. */
    private final ReplyRates rates;
    /** F, 0 for no amplification limit. */
    private final long factor;
    /** One in this many over-limit verdicts is a slip; 0: none. */
    private final int slip;
    /** Over-limit verdicts, counted for slips (any thread: virtual-thread sessions ask too). */
    private final AtomicLong overs = new AtomicLong();
    /** The rates' clock, set once per receive batch and turn (acceptor thread). */
    private long now;
    // the stateless request being handled (acceptor thread); requestBytes -1: none
    private long requestBytes = -1;
    private long repliedBytes;
    private boolean requestValidated;
    private boolean requestSlip;
    /** Why the last {@link #check} refused (for the segments that follow it). */
    private Drop lastRefusal;
    /**
     * The last prefix a reply went to and its bucket (acceptor thread): the replies of one request,
     * of one busy peer, of a flood naming one victim, go to one prefix in a row, and skip the hash.
     */
    private long lastPrefix = Prefixes.NONE;
    private int lastBucket = -1;

    /**
     * @param prefixes the prefix rules and table (shared), or null with no rate limit
     * @param rates    the reply budget per prefix (shared), or null for none
     * @param factor   F, 0 for no amplification limit
     * @param slip     one over-limit verdict in {@code slip} is a slip, 0 for none
     */
    public ReplyLimits(Prefixes prefixes, ReplyRates rates, int factor, int slip) {
        this.prefixes = prefixes;
        this.rates = rates;
        this.factor = factor;
        this.slip = slip;
        this.now = rates == null ? 0 : rates.clock(System.nanoTime());
    }

    /** Acceptor thread: the time replies are counted at until the next tick (System.nanoTime). */
    public void tick(long nanoTime) {
        if (rates != null) {
            now = rates.clock(nanoTime);
        }
    }

    // ---- a stateless request (DatagramHandler) ---------------------------------------------------

    /** A stateless handler is about to handle a request of {@code bytes}: its replies are held to F × that. */
    public void beginRequest(long bytes) {
        requestBytes = bytes;
        repliedBytes = 0;
        requestValidated = false;
        requestSlip = false;
    }

    /** The stateless handler returned. */
    public void endRequest() {
        requestBytes = -1;
    }

    /** The stateless handler validated its peer: this request's replies pass both rules. */
    public void validateRequest() {
        requestValidated = true;
    }

    // ---- the check ---------------------------------------------------------------------------------

    /**
     * Acceptor thread: null when {@code length} bytes to {@code to} ({@code s}: its session, or null)
     * may go now, and then they are taken from its budgets; else why not (nothing taken).
     */
    public Drop check(SessionImpl s, PeerKey to, int length) {
        if (s != null) {
            if (s.validated()) {
                return null;
            }
            if (factor > 0 && s.unvalidatedSent() + length > factor * s.receivedBytes()) {
                return refused(Drop.AMPLIFICATION_LIMITED);
            }
            if (rates != null && !take(to) && !s.takeSlip()) {
                return refused(Drop.RATE_LIMITED);
            }
            s.addUnvalidatedSent(length);
            return null;
        }
        if (requestBytes >= 0) {
            if (requestValidated) {
                return null;
            }
            if (factor > 0 && repliedBytes + length > factor * requestBytes) {
                return refused(Drop.AMPLIFICATION_LIMITED);
            }
            if (rates != null && !take(to) && !takeRequestSlip()) {
                return refused(Drop.RATE_LIMITED);
            }
            repliedBytes += length;
            return null;
        }
        // Server.send outside a callback, or a datagram queued by another thread for no session
        return rates != null && !take(to) ? refused(Drop.RATE_LIMITED) : null;
    }

    /** {@return why the last {@link #check} refused} */
    public Drop lastRefusal() {
        return lastRefusal;
    }

    private Drop refused(Drop why) {
        lastRefusal = why;
        return why;
    }

    private boolean take(PeerKey to) {
        long prefix = prefixes.prefix(to);
        if (prefix == Prefixes.NONE) {
            return true;
        }
        if (prefix != lastPrefix) {
            lastPrefix = prefix;
            lastBucket = prefixes.bucket(prefix);
        }
        return rates.tryTake(lastBucket, now);
    }

    private boolean takeRequestSlip() {
        boolean granted = requestSlip;
        requestSlip = false;
        return granted;
    }

    // ---- what a handler asks -----------------------------------------------------------------------

    /**
     * Any thread: whether a reply to {@code to} ({@code validated}: its peer was validated) would
     * be refused by the rate now; takes nothing.
     */
    public boolean over(PeerKey to, boolean validated) {
        if (rates == null || validated) {
            return false;
        }
        int bucket = prefixes.bucketOf(to);
        return bucket >= 0 && rates.over(bucket, rates.clock(System.nanoTime()));
    }

    /**
     * {@link dev.abyss.server.Peer#rateLimit()}: the verdict for {@code to}; a slip is granted to
     * {@code s} (null: to the stateless request being handled, acceptor thread).
     */
    public RateLimitVerdict verdict(SessionImpl s, PeerKey to, boolean validated) {
        if (!over(to, validated)) {
            return RateLimitVerdict.UNDER;
        }
        if (slip > 0 && overs.incrementAndGet() % slip == 0) {
            if (s != null) {
                s.grantSlip();
            } else {
                requestSlip = true;
            }
            return RateLimitVerdict.SLIP;
        }
        return RateLimitVerdict.OVER;
    }

    /** {@return whether the stateless request being handled was validated (acceptor thread)} */
    public boolean requestValidated() {
        return requestValidated;
    }
}
