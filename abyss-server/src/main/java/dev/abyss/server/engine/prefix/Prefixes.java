package dev.abyss.server.engine.prefix;

import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.security.SecureRandom;

/**
 * A peer's source prefix and its bucket in a fixed-size table of {@code 2^k} buckets. The prefix
 * is the address cut to {@code v4Bits} (IPv4 and v4-mapped IPv6 peers) or {@code v6Bits} (IPv6, at
 * most 64); the bucket is a keyed hash of it (a multiply-xorshift mix under a 128-bit secret drawn
 * once per table from {@link SecureRandom}), so a sender who does not know the secret cannot choose
 * addresses that share a bucket. Two prefixes that do share one share its budget: a collision only
 * makes limiting stricter. AF_UNIX peers have no prefix ({@link #NONE}): they are local, and no
 * limit applies to them. Immutable, any thread; allocates nothing.
 */
public final class Prefixes {
    /** The prefix of a peer that has none (AF_UNIX). */
    public static final long NONE = -1L;
    /** The most buckets a table may have (2^24): bounds what a config can make the server allocate. */
    public static final int MAX_BUCKETS = 1 << 24;

    /**
     * Marks an IPv4 word: an IPv6 word starting with these bits would be a multicast (ff00::/8)
     * source, which no datagram has, so the two families never share a word.
     */
    private static final long V4_WORD = 0xFFFF_FFFE_0000_0000L;

    private final long k0;
    private final long k1;
    private final long v4Mask;
    private final long v6Mask;
    private final int mask;

    /**
     * @param v4Bits  IPv4 prefix length, 1..32
     * @param v6Bits  IPv6 prefix length, 1..64
     * @param buckets the table's size, a power of two, 1..{@link #MAX_BUCKETS}
     */
    public Prefixes(int v4Bits, int v6Bits, int buckets) {
        this(v4Bits, v6Bits, buckets, new SecureRandom());
    }

    /** With the secret drawn from {@code random} (tests give a seeded one). */
    public Prefixes(int v4Bits, int v6Bits, int buckets, java.util.Random random) {
        if (v4Bits < 1 || v4Bits > 32) {
            throw new IllegalArgumentException("IPv4 prefix length must be 1..32, was " + v4Bits);
        }
        if (v6Bits < 1 || v6Bits > 64) {
            throw new IllegalArgumentException("IPv6 prefix length must be 1..64, was " + v6Bits);
        }
        if (buckets < 1 || buckets > MAX_BUCKETS || Integer.bitCount(buckets) != 1) {
            throw new IllegalArgumentException("buckets must be a power of two, 1.." + MAX_BUCKETS + ", was " + buckets);
        }
        this.k0 = random.nextLong();
        this.k1 = random.nextLong() | 1; // odd: a multiplier that loses no bit
        this.v4Mask = (0xFFFF_FFFFL << (32 - v4Bits)) & 0xFFFF_FFFFL;
        this.v6Mask = -1L << (64 - v6Bits);
        this.mask = buckets - 1;
    }

    /** {@return the table's size} */
    public int buckets() {
        return mask + 1;
    }

    /**
     * {@return {@code peer}'s prefix as one word (IPv4 and v4-mapped: the masked address; IPv6: the
     * masked first 64 bits; the two families never share a word), or {@link #NONE} for AF_UNIX}
     */
    public long prefix(PeerKey peer) {
        int family = peer.family();
        if (family == Net.AF_INET || family == Net.AF_INET6 && peer.isV4Mapped()) {
            return V4_WORD | peer.lo() & v4Mask;
        }
        if (family == Net.AF_INET6) {
            return peer.hi() & v6Mask;
        }
        return NONE;
    }

    /** {@return the bucket of {@code prefix} (not {@link #NONE}): its keyed hash, cut to the table} */
    public int bucket(long prefix) {
        return (int) (hash(prefix) >>> 40) & mask; // the top bits: the best mixed (the table has at most 2^24)
    }

    /** {@return {@code peer}'s bucket, or -1 when it has no prefix} */
    public int bucketOf(PeerKey peer) {
        long p = prefix(peer);
        return p == NONE ? -1 : bucket(p);
    }

    /**
     * The keyed mix of a prefix: its top 24 bits choose the bucket.
     *
     * <p>Why not a PRF (SipHash-1-3, as before: 8 ns a datagram here, where this takes 2): the
     * bucket only decides which prefixes share a budget, and sharing only makes limiting stricter,
     * so the most an aimed collision gains is spending a chosen prefix's budget from one's own
     * addresses, which a sender who forges addresses does without any collision, by naming that
     * prefix. What the hash must do is spread any set of prefixes (consecutive networks, one
     * provider's) evenly, and keep the pairs that collide unknown to an outsider who cannot forge:
     * the secret (128 bits, new for every table, so for every server process) enters before the
     * first multiply and again as the second multiplier, so the placement is a different mix in
     * every process; learning one collision means exhausting a prefix's burst and probing
     * another's, one bit per refill period, and tells nothing about another process.
     */
    long hash(long m) {
        long h = (m ^ k0) * 0x9E37_79B9_7F4A_7C15L;
        h ^= h >>> 32;
        h *= k1;
        h ^= h >>> 29;
        return h * 0xBF58_476D_1CE4_E5B9L; // a multiply's top bits depend on every bit below them
    }
}
