package dev.abyss.server;

import java.lang.foreign.MemorySegment;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a 64-bit keyed
 * hash, the PRF of RFC 9018's DNS server cookies and of {@link AddressTokens}. Written from the
 * paper: a 128-bit key read as two little-endian words {@code k0}, {@code k1}; the message absorbed
 * in little-endian 8-byte words, the last one carrying the length in its top byte; two rounds per
 * word, four to finish. The 64-bit result is serialised little-endian, as the reference code does.
 *
 * <p>The message is given as a prefix in memory followed by a tail of up to 32 bytes packed into four
 * longs (byte {@code i} of the tail is bits {@code 8*(i%8)} of word {@code i/8}), so a caller can hash
 * "bytes it was handed, then a few fields of its own" without copying them into a buffer. Static,
 * allocates nothing, safe from any thread.
 */
final class SipHash24 {
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private SipHash24() {
    }

    /**
     * SipHash-2-4 of {@code length} bytes of {@code data} from {@code offset}.
     *
     * @return the 64-bit hash (its bytes, little-endian, are the serialised form)
     */
    static long hash(long k0, long k1, MemorySegment data, long offset, int length) {
        return hash(k0, k1, data, offset, length, 0, 0, 0, 0, 0);
    }

    /**
     * SipHash-2-4 of the message {@code prefix[offset, offset + length)} followed by the first
     * {@code tailLength} (0..32) bytes of the tail packed in {@code t0..t3}.
     */
    static long hash(long k0, long k1, MemorySegment prefix, long offset, int length,
                     long t0, long t1, long t2, long t3, int tailLength) {
        long v0 = k0 ^ 0x736f6d6570736575L;
        long v1 = k1 ^ 0x646f72616e646f6dL;
        long v2 = k0 ^ 0x6c7967656e657261L;
        long v3 = k1 ^ 0x7465646279746573L;
        int total = length + tailLength;
        // The prefix's whole words, read as words.
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            long m = prefix.get(LE_LONG, offset + i);
            v3 ^= m;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        // The rest: the prefix's last 0..7 bytes, then the tail, regrouped into words w0..w4.
        long rest = 0;
        int restPrefix = length - i;
        for (int k = 0; k < restPrefix; k++) {
            rest |= (prefix.get(JAVA_BYTE, offset + i + k) & 0xffL) << (k << 3);
        }
        int shift = restPrefix << 3;
        long w0, w1, w2, w3, w4;
        if (shift == 0) {
            w0 = t0; w1 = t1; w2 = t2; w3 = t3; w4 = 0;
        } else {
            int back = 64 - shift;
            w0 = rest | t0 << shift;
            w1 = t0 >>> back | t1 << shift;
            w2 = t1 >>> back | t2 << shift;
            w3 = t2 >>> back | t3 << shift;
            w4 = t3 >>> back;
        }
        int restLength = restPrefix + tailLength;
        int words = restLength >>> 3;
        for (int w = 0; w <= words; w++) {
            long m = switch (w) {
                case 0 -> w0;
                case 1 -> w1;
                case 2 -> w2;
                case 3 -> w3;
                default -> w4;
            };
            if (w == words) {
                // The last word: what is left of the message, and the length's low byte on top.
                int left = restLength & 7;
                m = (left == 0 ? 0 : m & (-1L >>> (64 - (left << 3)))) | ((long) total & 0xff) << 56;
            }
            v3 ^= m;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) {
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }
}
