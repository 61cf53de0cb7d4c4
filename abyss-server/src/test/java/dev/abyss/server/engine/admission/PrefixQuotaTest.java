package dev.abyss.server.engine.admission;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.prefix.Prefixes;
import dev.abyss.server.engine.session.PrefixOrder;
import dev.abyss.server.engine.session.SessionImpl;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixQuotaTest {
    private static PeerKey peer(String host, int port) {
        return new PeerKey().set(new InetSocketAddress(host, port));
    }

    private static SessionImpl session(PeerKey key) {
        return new SessionImpl(key, null, null, null, 0, 0, 0);
    }

    @Test
    void theQuotaCountsPerPrefixAndGivesPlacesBack() {
        Prefixes prefixes = new Prefixes(24, 56, 1024);
        PrefixQuota q = new PrefixQuota(prefixes, 2);
        int b = prefixes.bucketOf(peer("198.18.3.1", 1));
        assertTrue(q.tryReserve(b));
        assertTrue(q.tryReserve(b));
        assertTrue(q.full(b));
        assertFalse(q.tryReserve(b));
        q.release(b);
        assertFalse(q.full(b));
        assertEquals(1, q.live(peer("198.18.3.200", 9)));
    }

    @Test
    void theOldestOfAPrefixIsItsOwnNeverAnothers() {
        Prefixes prefixes = new Prefixes(24, 56, 1024);
        PrefixOrder order = new PrefixOrder(1); // one slot: every prefix shares the list, as colliding ones would
        PeerKey otherKey = peer("198.18.9.1", 1);
        SessionImpl other = session(otherKey);
        SessionImpl first = session(peer("198.18.3.1", 1));
        SessionImpl second = session(peer("198.18.3.2", 1));
        long flood = prefixes.prefix(first.key);
        int bucket = prefixes.bucket(flood);
        order.added(other, prefixes.prefix(otherKey), prefixes.bucketOf(otherKey)); // the oldest of the slot
        order.added(first, flood, bucket);
        order.added(second, flood, bucket);
        assertSame(first, order.takeOldest(flood, bucket));
        assertSame(second, order.takeOldest(flood, bucket), "a victim taken is not picked again while it ends");
        assertNull(order.takeOldest(flood, bucket), "none of its own left: the other prefix's session is not taken");
        assertEquals(bucket, order.removed(first), "a victim still gives its quota place back when it ends");
        assertEquals(bucket, order.removed(second));
        assertEquals(-1, order.removed(second), "removed once");
        SessionImpl third = session(peer("198.18.3.3", 1));
        order.added(third, flood, bucket);
        assertSame(third, order.takeOldest(flood, bucket), "the lists stay whole: " + other);
        assertEquals(prefixes.bucketOf(otherKey), order.removed(other));
    }
}
