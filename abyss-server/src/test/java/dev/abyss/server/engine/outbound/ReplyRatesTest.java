package dev.abyss.server.engine.outbound;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.RateLimitVerdict;
import dev.abyss.server.engine.prefix.Prefixes;
import dev.abyss.server.engine.telemetry.Drop;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rate per bucket (GCRA) and the rules of ReplyLimits, on a clock the test moves. */
class ReplyRatesTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aBurstThenTheRate() {
        ReplyRates r = new ReplyRates(100, 10, 1024);
        long t = SECOND;
        int sent = 0;
        for (int i = 0; i < 50; i++) {
            if (r.tryTake(7, r.since(t))) {
                sent++;
            }
        }
        assertEquals(10, sent, "the burst at once");
        assertTrue(r.over(7, r.since(t)));
        assertFalse(r.over(8, r.since(t)), "another bucket is untouched");
        t += SECOND / 100; // one interval: one more
        assertTrue(r.tryTake(7, r.since(t)));
        assertFalse(r.tryTake(7, r.since(t)));
        sent = 0;
        for (int ms = 1; ms <= 1000; ms++) { // one second at 1 kHz of attempts: the rate, 100
            if (r.tryTake(7, r.since(t + ms * 1_000_000L))) {
                sent++;
            }
        }
        assertEquals(100, sent);
    }

    @Test
    void anIdleBucketHasItsBurstAgainAndNoMore() {
        ReplyRates r = new ReplyRates(10, 3, 64);
        long t = 5 * SECOND;
        for (int i = 0; i < 3; i++) {
            assertTrue(r.tryTake(1, r.since(t)));
        }
        assertFalse(r.tryTake(1, r.since(t)));
        t += 3600 * SECOND; // an hour idle: a burst, not an hour's worth
        int sent = 0;
        for (int i = 0; i < 100; i++) {
            if (r.tryTake(1, r.since(t))) {
                sent++;
            }
        }
        assertEquals(3, sent);
    }

    @Test
    void aBucketIdleAsLongAsItsClockWrapsIsAtWorstStricter() {
        // 1 ns intervals: the 32-bit time wraps in 4.3 s; idle a multiple of that, a spent bucket reads as spent
        long t = SECOND;
        long[] idle = {1L << 31, (1L << 32) - 3, 1L << 32, (1L << 32) + 1, 3 * (1L << 32) + 2, 1L << 40, (1L << 40) + (1L << 31)};
        for (long d : idle) {
            ReplyRates fresh = new ReplyRates(1_000_000_000, 3, 16);
            for (int i = 0; i < 3; i++) {
                assertTrue(fresh.tryTake(2, fresh.since(t)));
            }
            int sent = 0;
            for (int i = 0; i < 100; i++) {
                if (fresh.tryTake(2, fresh.since(t + d))) {
                    sent++;
                }
            }
            assertTrue(sent <= 3, "idle " + d + " ns: " + sent + " sent, more than the burst");
            if (d == 1L << 31 || d == (1L << 40) + (1L << 31)) {
                assertEquals(3, sent, "idle " + d + " ns: a full burst");
            }
        }
    }

    @Test
    void theFirstReplyOfAFreshTableGoes() {
        ReplyRates r = new ReplyRates(1, 1, 16);
        assertTrue(r.tryTake(3, r.clock(System.nanoTime())));
    }

    private static PeerKey peer(String host) {
        return new PeerKey().set(new InetSocketAddress(host, 53));
    }

    @Test
    void statelessRepliesAreHeldToFTimesTheRequest() {
        ReplyLimits l = new ReplyLimits(null, null, 3, 0);
        PeerKey victim = peer("198.18.0.1");
        l.beginRequest(40);
        assertNull(l.check(null, victim, 100));
        assertNull(l.check(null, victim, 20));
        assertEquals(Drop.AMPLIFICATION_LIMITED, l.check(null, victim, 1), "120 bytes = 3 x 40 sent");
        l.endRequest();
        l.beginRequest(40);
        l.validateRequest();
        assertNull(l.check(null, victim, 4000), "a validated peer is not limited");
        l.endRequest();
        assertNull(l.check(null, victim, 4000), "outside a request (Server.send) only the rate applies");
    }

    @Test
    void theRateAppliesPerPrefixAndSlipsPassOnce() {
        Prefixes prefixes = new Prefixes(24, 56, 1024);
        ReplyRates rates = new ReplyRates(1, 2, 1024);
        ReplyLimits l = new ReplyLimits(prefixes, rates, 0, 2);
        l.tick(System.nanoTime());
        PeerKey a = peer("198.18.0.1");
        PeerKey sameNet = peer("198.18.0.77");
        PeerKey other = peer("198.18.1.1");
        l.beginRequest(10);
        assertNull(l.check(null, a, 10));
        assertNull(l.check(null, sameNet, 10));
        assertEquals(Drop.RATE_LIMITED, l.check(null, a, 10), "the /24's burst of 2 is spent");
        if (prefixes.bucketOf(other) != prefixes.bucketOf(a)) {
            assertNull(l.check(null, other, 10), "another /24 has its own budget");
        }
        assertTrue(l.over(a, false));
        assertFalse(l.over(a, true), "validated: never over");
        RateLimitVerdict first = l.verdict(null, a, false);
        RateLimitVerdict second = l.verdict(null, a, false);
        assertEquals(1, (first == RateLimitVerdict.SLIP ? 1 : 0) + (second == RateLimitVerdict.SLIP ? 1 : 0),
                "one verdict in 2 is a slip: " + first + ", " + second);
        assertNull(l.check(null, a, 10), "the slip passes once");
        assertEquals(Drop.RATE_LIMITED, l.check(null, a, 10));
        l.endRequest();
    }
}
