package dev.abyss.bench.load;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The bulk protocol of the comparison: a request of {@link #REQUEST} bytes (replies N as an int,
 * peer id as an int, sequence number as a long) is answered with N datagrams of {@link #SEGMENT}
 * bytes, each starting with the request's 16 bytes and its index (an int, 0..N-1), then the body
 * pattern {@code byte j = (byte) j} up to the end. The servers (Java and C) write the same bytes,
 * so the load generator checks every reply datagram the same way whoever sent it.
 */
public final class Bulk {
    /** Bytes of a request. */
    public static final int REQUEST = 16;
    /** Bytes of every reply datagram. */
    public static final int SEGMENT = 1200;
    /** Header bytes of a reply datagram: the request's 16, then the index. */
    public static final int HEADER = REQUEST + 4;
    /** Most replies a request may ask for (the load generator tracks them in a 64-bit mask). */
    public static final int MAX_REPLIES = 64;
    /** Most segments one GSO send carries without exceeding the largest UDP payload (65,507 bytes): 54. */
    public static final int SEGMENTS_PER_GSO_SEND = Math.min(64, 65_507 / SEGMENT);

    private Bulk() {
    }

    /** {@return replies asked for by the request at {@code at}} */
    public static int replies(MemorySegment request, long at) {
        return request.get(JAVA_INT_UNALIGNED, at);
    }

    static void writeRequest(MemorySegment seg, long at, int replies, int peer, long seq) {
        seg.set(JAVA_INT_UNALIGNED, at, replies);
        seg.set(JAVA_INT_UNALIGNED, at + 4, peer);
        seg.set(JAVA_LONG_UNALIGNED, at + 8, seq);
    }

    static int peer(MemorySegment seg, long at) {
        return seg.get(JAVA_INT_UNALIGNED, at + 4);
    }

    static long seq(MemorySegment seg, long at) {
        return seg.get(JAVA_LONG_UNALIGNED, at + 8);
    }

    static int index(MemorySegment seg, long at) {
        return seg.get(JAVA_INT_UNALIGNED, at + REQUEST);
    }

    /** Writes the body pattern of {@code count} reply datagrams from {@code at} (headers are stamped per request). */
    public static void fillBodies(MemorySegment buf, long at, int count) {
        for (int i = 0; i < count; i++) {
            long s = at + (long) i * SEGMENT;
            for (int j = HEADER; j < SEGMENT; j++) {
                buf.set(JAVA_BYTE, s + j, (byte) j);
            }
        }
    }

    /**
     * Stamps the headers of {@code n} reply datagrams laid out back to back from {@code at} (bodies
     * written once by {@link #fillBodies}): each gets the request's 16 bytes and its index.
     */
    public static void stamp(MemorySegment buf, long at, MemorySegment request, long requestAt, int n) {
        for (int i = 0; i < n; i++) {
            long s = at + (long) i * SEGMENT;
            MemorySegment.copy(request, requestAt, buf, s, REQUEST);
            buf.set(JAVA_INT_UNALIGNED, s + REQUEST, i);
        }
    }

    /** True when the reply datagram at {@code at} has the body pattern (its first and last bytes checked, and one between). */
    static boolean bodyIntact(MemorySegment seg, long at) {
        return seg.get(JAVA_BYTE, at + HEADER) == (byte) HEADER
                && seg.get(JAVA_BYTE, at + SEGMENT / 2) == (byte) (SEGMENT / 2)
                && seg.get(JAVA_BYTE, at + SEGMENT - 1) == (byte) (SEGMENT - 1);
    }
}
