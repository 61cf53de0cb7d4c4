package dev.abyss.server.transport.xdp;

import java.lang.foreign.MemorySegment;

import static dev.abyss.server.transport.xdp.FrameLayout.NET_INT;
import static dev.abyss.server.transport.xdp.FrameLayout.NET_LONG;
import static dev.abyss.server.transport.xdp.FrameLayout.NET_SHORT;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit
 * big-endian words. Sums are carried in a {@code long} and folded at the end: a 64-bit read adds
 * its two 32-bit halves (2<sup>32</sup> ≡ 1 modulo 0xFFFF, so grouping words does not change the
 * sum), which cannot overflow for any frame. Regions are summed from their own start, so a region
 * that is not the last must have an even length.
 */
public final class Checksum {
    private Checksum() {
    }

    /** {@return {@code sum} plus the words of the {@code length} bytes at {@code at}; an odd last byte is padded with zero} */
    public static long add(MemorySegment s, long at, int length, long sum) {
        long p = at;
        long end = at + length;
        for (; p + 8 <= end; p += 8) {
            long v = s.get(NET_LONG, p);
            sum += (v >>> 32) + (v & 0xFFFF_FFFFL);
        }
        if (p + 4 <= end) {
            sum += Integer.toUnsignedLong(s.get(NET_INT, p));
            p += 4;
        }
        if (p + 2 <= end) {
            sum += Short.toUnsignedInt(s.get(NET_SHORT, p));
            p += 2;
        }
        if (p < end) {
            sum += (s.get(JAVA_BYTE, p) & 0xFF) << 8;
        }
        return sum;
    }

    /** {@return {@code sum} folded to 16 bits (the one's complement sum, not yet complemented)} */
    public static int fold(long sum) {
        long s = sum;
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int) s;
    }

    /** {@return the checksum field for {@code sum}: its folded complement} */
    public static int finish(long sum) {
        return ~fold(sum) & 0xFFFF;
    }

    /** {@return the IPv4 pseudo-header's sum (RFC 768): addresses, protocol UDP, UDP length} */
    public static long pseudo4(int source, int destination, int udpLength) {
        return Integer.toUnsignedLong(source) + Integer.toUnsignedLong(destination) + FrameLayout.PROTOCOL_UDP + udpLength;
    }

    /** {@return the IPv6 pseudo-header's sum (RFC 8200 8.1): addresses, UDP length, next header UDP} */
    public static long pseudo6(long sourceHi, long sourceLo, long destinationHi, long destinationLo, int udpLength) {
        return halves(sourceHi) + halves(sourceLo) + halves(destinationHi) + halves(destinationLo)
                + udpLength + FrameLayout.PROTOCOL_UDP;
    }

    private static long halves(long v) {
        return (v >>> 32) + (v & 0xFFFF_FFFFL);
    }
}
