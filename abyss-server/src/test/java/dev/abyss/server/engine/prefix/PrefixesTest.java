package dev.abyss.server.engine.prefix;

import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixesTest {
    private static PeerKey peer(String host, int port) {
        return new PeerKey().set(new InetSocketAddress(host, port));
    }

    @Test
    void peersOfOnePrefixShareItAndOthersDoNot() {
        Prefixes p = new Prefixes(24, 56, 1 << 16);
        assertEquals(p.prefix(peer("198.18.7.1", 1)), p.prefix(peer("198.18.7.254", 40_000)));
        assertNotEquals(p.prefix(peer("198.18.7.1", 1)), p.prefix(peer("198.18.8.1", 1)));
        assertEquals(p.prefix(peer("fd00:1:2:300::1", 1)), p.prefix(peer("fd00:1:2:3ff:ffff::9", 2)), "one /56");
        assertNotEquals(p.prefix(peer("fd00:1:2:300::1", 1)), p.prefix(peer("fd00:1:2:400::1", 1)));
        assertEquals(p.bucketOf(peer("198.18.7.1", 1)), p.bucketOf(peer("198.18.7.99", 7)));
    }

    @Test
    void aMappedIpv4PeerIsTheIpv4Prefix() {
        Prefixes p = new Prefixes(24, 56, 1 << 16);
        PeerKey v4 = peer("198.18.7.1", 1);
        assertEquals(p.prefix(v4), p.prefix(v4.v4Mapped()));
    }

    @Test
    void theFamiliesNeverShareAWord() {
        Prefixes p = new Prefixes(32, 64, 1 << 16);
        // an IPv6 address whose first 64 bits equal an IPv4 address as a number
        PeerKey v6 = new PeerKey().setInet6(0xC612_0701L, 1, 0, 1);
        assertNotEquals(p.prefix(peer("198.18.7.1", 1)), p.prefix(v6));
    }

    @Test
    void theBucketDependsOnTheSecret() {
        Prefixes a = new Prefixes(24, 56, 1 << 20, new Random(1));
        Prefixes b = new Prefixes(24, 56, 1 << 20, new Random(2));
        int same = 0;
        for (int i = 0; i < 1000; i++) {
            long prefix = a.prefix(peer("10." + (i >> 8) + "." + (i & 0xFF) + ".1", 1));
            if (a.bucket(prefix) == b.bucket(prefix)) {
                same++;
            }
        }
        assertTrue(same < 5, "two secrets place 1,000 prefixes alike " + same + " times");
    }

    @Test
    void bucketsSpreadEvenly() {
        Prefixes p = new Prefixes(24, 56, 1 << 10);
        int[] hits = new int[1 << 10];
        for (int i = 0; i < 1 << 16; i++) { // 65,536 consecutive /24s: the shape an attacker would try
            hits[p.bucket(p.prefix(new PeerKey().setInet4(i << 8, 1, false)))]++;
        }
        for (int h : hits) {
            assertTrue(h > 20 && h < 120, "a bucket got " + h + " of 64 expected");
        }
    }

    @Test
    void everyBucketIsInTheTable() {
        for (int buckets : new int[] {1, 2, 1 << 10, Prefixes.MAX_BUCKETS}) {
            Prefixes p = new Prefixes(24, 56, buckets, new Random(buckets));
            java.util.BitSet seen = new java.util.BitSet();
            for (int i = 0; i < 4096; i++) {
                int b = p.bucket(p.prefix(new PeerKey().setInet4(i << 8, 1, false)));
                assertTrue(b >= 0 && b < buckets, "bucket " + b + " of " + buckets);
                seen.set(b);
            }
            assertTrue(seen.cardinality() >= Math.min(buckets, 4096) * 6 / 10, buckets + ": " + seen.cardinality() + " buckets used");
        }
    }

    @Test
    void badArgumentsAreNamed() {
        assertThrows(IllegalArgumentException.class, () -> new Prefixes(0, 56, 1024));
        assertThrows(IllegalArgumentException.class, () -> new Prefixes(24, 65, 1024));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Prefixes(24, 56, 1000));
        assertTrue(e.getMessage().contains("1000"), e.getMessage());
    }

    @Test
    void unixPeersHaveNoPrefix() {
        Prefixes p = new Prefixes(24, 56, 1024);
        PeerKey unix = new PeerKey().set(java.net.UnixDomainSocketAddress.of("/tmp/x.sock"));
        assertEquals(Prefixes.NONE, p.prefix(unix));
        assertEquals(-1, p.bucketOf(unix));
    }
}
