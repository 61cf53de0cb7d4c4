package dev.abyss.server;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SipHash-2-4 against the paper's vectors, the tokens against RFC 9018's, and every way a token must fail. */
class AddressTokensTest {
    private static final HexFormat HEX = HexFormat.of();

    /** A clock the test moves by hand. */
    private static final class ManualClock implements InstantSource {
        final AtomicLong millis;

        ManualClock(long seconds) {
            millis = new AtomicLong(seconds * 1000);
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }

        void advance(Duration d) {
            millis.addAndGet(d.toMillis());
        }
    }

    private static InetSocketAddress at(String ip, int port) throws UnknownHostException {
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }

    @Test
    void sipHashMatchesTheReferenceVectors() {
        // The SipHash paper's reference vectors: key 00..0f, message 00..(n-1).
        long k0 = 0x0706050403020100L;
        long k1 = 0x0f0e0d0c0b0a0908L;
        MemorySegment msg = MemorySegment.ofArray(new byte[64]);
        for (int i = 0; i < 64; i++) {
            msg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i);
        }
        long[][] vectors = {
                {0, 0x726fdb47dd0e0e31L}, {1, 0x74f839c593dc67fdL}, {2, 0x0d6c8009d9a94f5aL},
                {3, 0x85676696d7fb7e2dL}, {4, 0xcf2794e0277187b7L}, {7, 0xab0200f58b01d137L},
                {8, 0x93f5f5799a932462L}, {9, 0x9e0082df0ba9e4b0L}, {15, 0xa129ca6149be45e5L},
                {16, 0x3f2acc7f57c29bdbL}, {32, 0x7127512f72f27cceL}, {63, 0x958a324ceb064572L},
        };
        for (long[] v : vectors) {
            assertEquals(v[1], SipHash24.hash(k0, k1, msg, 0, (int) v[0]), "SipHash-2-4 of " + v[0] + " bytes");
        }
        // The same message split anywhere between the prefix and the packed tail hashes the same.
        java.lang.foreign.ValueLayout.OfLong le = java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        MemorySegment padded = MemorySegment.ofArray(new byte[64 + 32]);
        MemorySegment.copy(msg, 0, padded, 0, 64);
        for (int p = 0; p <= 31; p++) {
            for (int t = 0; t <= 32 && p + t <= 63; t++) {
                long[] w = new long[4];
                for (int j = 0; j < t; j++) {
                    w[j >>> 3] |= (long) (p + j) << ((j & 7) << 3);
                }
                assertEquals(SipHash24.hash(k0, k1, msg, 0, p + t), SipHash24.hash(k0, k1, padded, 0, p, w[0], w[1], w[2], w[3], t),
                        "prefix " + p + " + tail " + t);
            }
        }
        assertEquals(0x93f5f5799a932462L, SipHash24.hash(k0, k1, msg, 0, 5, padded.get(le, 5), 0, 0, 0, 3));
    }

    /** RFC 9018 Appendix A: the server cookies its examples show, byte for byte, and the ones it accepts. */
    @Test
    void dnsServerCookiesMatchRfc9018() throws Exception {
        record Vector(String secret, String clientCookie, String ip, long time, String serverCookie) {
        }
        Vector[] vectors = {
                new Vector("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559731985,
                        "010000005cf79f111f8130c3eee29480"),                                        // A.1
                new Vector("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559734385,
                        "010000005cf7a871d4a564a1442aca77"),                                        // A.2
                new Vector("e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86", "203.0.113.203", 1559734700,
                        "010000005cf7a9acf73a7810aca2381e"),                                        // A.3
                new Vector("445536bcd2513298075a5d379663c962", "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8",
                        1559741961, "010000005cf7c609a6bb79d16625507a"),                            // A.4
        };
        for (Vector v : vectors) {
            ManualClock clock = new ManualClock(v.time);
            AddressTokens cookies = AddressTokens.builder().secret(HEX.parseHex(v.secret)).clock(clock).build();
            byte[] client = HEX.parseHex(v.clientCookie);
            InetSocketAddress peer = at(v.ip, 53000);
            assertEquals(v.serverCookie, HEX.formatHex(cookies.issue(peer, client)), "server cookie for " + v.ip);
            assertTrue(cookies.verify(peer, HEX.parseHex(v.serverCookie), client));
        }
        // A.3: the client returns a cookie another server of the set made, reserved bytes set: hashed as received.
        ManualClock clock = new ManualClock(0x5cf78f71L + 10);
        AddressTokens a3 = AddressTokens.builder().secret(HEX.parseHex("e5e973e5a6b2a43f48e7dc849e37bfcf")).clock(clock).build();
        assertTrue(a3.verify(at("203.0.113.203", 1), HEX.parseHex("01abcdef5cf78f71a314227b6679ebf5"), HEX.parseHex("fc93fc62807ddb86")));
        assertFalse(a3.verify(at("203.0.113.204", 1), HEX.parseHex("01abcdef5cf78f71a314227b6679ebf5"), HEX.parseHex("fc93fc62807ddb86")));
        // A.4: the cookie made with the old secret verifies while that secret is the previous one.
        ManualClock c4 = new ManualClock(0x5cf7c579L + 10);
        AddressTokens a4 = AddressTokens.builder().secret(HEX.parseHex("dd3bdf9344b678b185a6f5cb60fca715")).clock(c4).build();
        byte[] old = HEX.parseHex("010000005cf7c57926556bd0934c72f8");
        InetSocketAddress v6 = at("2001:db8:220:1:59de:d0f4:8769:82b8", 1);
        byte[] client4 = HEX.parseHex("22681ab97d52c298");
        assertTrue(a4.verify(v6, old, client4));
        a4.rotate(HEX.parseHex("445536bcd2513298075a5d379663c962"));
        assertTrue(a4.verify(v6, old, client4), "the previous secret still verifies");
        a4.rotate();
        assertFalse(a4.verify(v6, old, client4), "the one before the previous does not");
    }

    @Test
    void roundTripAndExpiry() throws Exception {
        ManualClock clock = new ManualClock(1_700_000_000L);
        AddressTokens tokens = AddressTokens.builder().lifetime(Duration.ofSeconds(10)).clockSkew(Duration.ofSeconds(2)).clock(clock).build();
        InetSocketAddress peer = at("127.0.0.5", 4000);
        byte[] ctx = {1, 2, 3};
        byte[] token = tokens.issue(peer, ctx);
        assertEquals(AddressTokens.TOKEN_LENGTH, token.length);
        assertEquals(AddressTokens.VERSION, token[0]);
        assertTrue(tokens.verify(peer, token, ctx));
        assertTrue(tokens.verify(at("127.0.0.5", 4001), token, ctx), "the port is not bound by default");
        assertFalse(tokens.verify(peer, token, new byte[]{1, 2, 4}), "another context");
        assertFalse(tokens.verify(peer, token, new byte[0]), "no context");
        clock.advance(Duration.ofSeconds(10));
        assertTrue(tokens.verify(peer, token, ctx), "valid through its lifetime");
        assertEquals(10, tokens.ageSeconds(MemorySegment.ofArray(token), 0));
        clock.advance(Duration.ofSeconds(1));
        assertFalse(tokens.verify(peer, token, ctx), "expired one second past its lifetime");
        // From the future: within the skew accepted, beyond it refused.
        clock.advance(Duration.ofSeconds(-13));
        assertTrue(tokens.verify(peer, token, ctx), "2 s ahead: within the skew");
        clock.advance(Duration.ofSeconds(-1));
        assertFalse(tokens.verify(peer, token, ctx), "3 s ahead: beyond the skew");
    }

    @Test
    void rotationKeepsThePreviousSecretOnly() throws Exception {
        ManualClock clock = new ManualClock(1_700_000_000L);
        AddressTokens tokens = AddressTokens.builder().clock(clock).build();
        InetSocketAddress peer = at("::1", 9);
        byte[] first = tokens.issue(peer, new byte[0]);
        tokens.rotate();
        byte[] second = tokens.issue(peer, new byte[0]);
        assertFalse(java.util.Arrays.equals(first, second), "a new secret, a new hash");
        assertTrue(tokens.verify(peer, first, new byte[0]), "previous secret accepted");
        assertTrue(tokens.verify(peer, second, new byte[0]));
        tokens.rotate();
        assertFalse(tokens.verify(peer, first, new byte[0]), "the secret before the previous is gone");
        assertTrue(tokens.verify(peer, second, new byte[0]));
    }

    @Test
    void rotatesByItselfEveryPeriod() throws Exception {
        ManualClock clock = new ManualClock(1_700_000_000L);
        AddressTokens tokens = AddressTokens.builder().clock(clock).lifetime(Duration.ofMinutes(10))
                .rotateEvery(Duration.ofMinutes(10)).build();
        InetSocketAddress peer = at("127.0.0.1", 9);
        byte[] old = tokens.issue(peer, new byte[0]);
        clock.advance(Duration.ofMinutes(9));
        byte[] young = tokens.issue(peer, new byte[0]);
        clock.advance(Duration.ofMinutes(2)); // 11 min: one rotation
        assertTrue(tokens.verify(peer, young, new byte[0]), "issued before the rotation, verified by the previous secret");
        assertFalse(tokens.verify(peer, old, new byte[0]), "11 minutes old: expired");
        byte[] fresh = tokens.issue(peer, new byte[0]);
        clock.advance(Duration.ofMinutes(10)); // 21 min: a second rotation
        tokens.issue(peer, new byte[0]);
        assertFalse(tokens.verify(peer, young, new byte[0]), "two rotations later: refused");
        assertTrue(tokens.verify(peer, fresh, new byte[0]));
        assertThrows(IllegalArgumentException.class,
                () -> AddressTokens.builder().lifetime(Duration.ofHours(1)).rotateEvery(Duration.ofMinutes(30)).build());
    }

    @Test
    void anotherAddressOrPortIsRefused() throws Exception {
        AddressTokens tokens = AddressTokens.builder().bindPort(true).build();
        byte[] ctx = {42};
        byte[] v4 = tokens.issue(at("198.18.0.1", 5000), ctx);
        assertTrue(tokens.verify(at("198.18.0.1", 5000), v4, ctx));
        assertFalse(tokens.verify(at("198.18.0.2", 5000), v4, ctx), "another address");
        assertFalse(tokens.verify(at("198.18.0.1", 5001), v4, ctx), "another port, the port bound");
        assertFalse(tokens.verify(at("::1", 5000), v4, ctx), "another family");
        // A v4-mapped peer (a dual-stack socket's view of an IPv4 client) is the same address.
        assertTrue(tokens.verify(at("::ffff:198.18.0.1", 5000), v4, ctx));
        byte[] v6 = tokens.issue(at("fd00::1", 5000), ctx);
        assertTrue(tokens.verify(at("fd00::1", 5000), v6, ctx));
        assertFalse(tokens.verify(at("fd00::2", 5000), v6, ctx));
        assertFalse(tokens.verify(at("fd00::1", 5002), v6, ctx));
    }

    @Test
    void everyFlippedBitIsRefused() throws Exception {
        AddressTokens tokens = AddressTokens.builder().build();
        InetSocketAddress peer = at("127.0.0.9", 53);
        byte[] ctx = HEX.parseHex("0011223344556677");
        byte[] token = tokens.issue(peer, ctx);
        for (int bit = 0; bit < token.length * 8; bit++) {
            byte[] bad = token.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            assertFalse(tokens.verify(peer, bad, ctx), "bit " + bit + " flipped");
        }
        for (int bit = 0; bit < ctx.length * 8; bit++) {
            byte[] bad = ctx.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            assertFalse(tokens.verify(peer, token, bad), "context bit " + bit + " flipped");
        }
        assertTrue(tokens.verify(peer, token, ctx));
    }

    @Test
    void badLengthsAndRangesAreRefusedWithoutExceptions() throws Exception {
        AddressTokens tokens = AddressTokens.builder().build();
        InetSocketAddress peer = at("127.0.0.9", 53);
        byte[] token = tokens.issue(peer, new byte[0]);
        MemorySegment seg = MemorySegment.ofArray(token);
        MemorySegment none = MemorySegment.ofArray(new byte[0]);
        for (int length : new int[]{0, 1, 8, 15, 17, 24, 40, -1}) {
            assertFalse(tokens.verify(peer, seg, 0, length, none, 0, 0), "length " + length);
        }
        byte[] longer = java.util.Arrays.copyOf(token, 17);
        assertFalse(tokens.verify(peer, longer, new byte[0]));
        assertFalse(tokens.verify(peer, java.util.Arrays.copyOf(token, 15), new byte[0]));
        assertFalse(tokens.verify(peer, seg, 1, 16, none, 0, 0), "a range past the segment's end");
        assertFalse(tokens.verify(peer, seg, -1, 16, none, 0, 0), "a negative offset");
        assertFalse(tokens.verify(peer, seg, Long.MAX_VALUE, 16, none, 0, 0), "an offset that overflows");
        assertFalse(tokens.verify(peer, seg, 0, 16, none, 0, 1), "a context past its segment");
        assertFalse(tokens.verify(peer, seg, 0, 16, MemorySegment.ofArray(new byte[300]), 0, 300), "a context too long");
        assertFalse(tokens.verify((InetSocketAddress) null, seg, 0, 16, none, 0, 0), "no address");
        assertFalse(tokens.verify(InetSocketAddress.createUnresolved("example.com", 53), seg, 0, 16, none, 0, 0));
        byte[] version2 = token.clone();
        version2[0] = 2;
        assertFalse(tokens.verify(peer, version2, new byte[0]), "another version");
        // Issuing checks its arguments: those are the caller's, not the wire's.
        assertThrows(IllegalArgumentException.class, () -> tokens.issue(peer, new byte[256]));
        assertThrows(IndexOutOfBoundsException.class, () -> tokens.issue(peer, none, 0, 0, MemorySegment.ofArray(new byte[15]), 0));
        assertThrows(IllegalArgumentException.class, () -> AddressTokens.builder().secret(new byte[15]));
        assertThrows(IllegalArgumentException.class, () -> tokens.rotate(new byte[17]));
    }

    @Test
    void tokensFromTheSameSecretAgreeAcrossInstances() throws Exception {
        byte[] secret = HEX.parseHex("000102030405060708090a0b0c0d0e0f");
        ManualClock clock = new ManualClock(1_700_000_000L);
        AddressTokens a = AddressTokens.builder().secret(secret).clock(clock).build();
        AddressTokens b = AddressTokens.builder().secret(secret).clock(clock).build();
        InetSocketAddress peer = at("127.0.0.3", 1);
        assertArrayEquals(a.issue(peer, new byte[]{7}), b.issue(peer, new byte[]{7}), "servers of one set issue the same");
        AddressTokens other = AddressTokens.builder().clock(clock).build();
        assertNotEquals(HEX.formatHex(a.issue(peer, new byte[]{7})), HEX.formatHex(other.issue(peer, new byte[]{7})));
        assertFalse(other.verify(peer, a.issue(peer, new byte[]{7}), new byte[]{7}));
    }
}
