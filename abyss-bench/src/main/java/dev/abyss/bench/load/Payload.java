package dev.abyss.bench.load;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The self-checking datagram: peer id (int), sequence number (long), send time (long, nanoTime),
 * then a pattern derived from peer and sequence, so an echo can be checked byte for byte.
 */
final class Payload {
    static final int HEADER = 20;

    private Payload() {
    }

    static void write(MemorySegment seg, long at, int size, int peer, long seq, long sentAt) {
        seg.set(JAVA_INT_UNALIGNED, at, peer);
        seg.set(JAVA_LONG_UNALIGNED, at + 4, seq);
        seg.set(JAVA_LONG_UNALIGNED, at + 12, sentAt);
        byte b = (byte) (peer * 31 + seq * 7);
        for (int i = HEADER; i < size; i++) {
            seg.set(JAVA_BYTE, at + i, (byte) (b + i));
        }
    }

    static int peer(MemorySegment seg, long at) {
        return seg.get(JAVA_INT_UNALIGNED, at);
    }

    static long seq(MemorySegment seg, long at) {
        return seg.get(JAVA_LONG_UNALIGNED, at + 4);
    }

    static long sentAt(MemorySegment seg, long at) {
        return seg.get(JAVA_LONG_UNALIGNED, at + 12);
    }

    /** True when the bytes after the header are the pattern of (peer, seq). */
    static boolean intact(MemorySegment seg, long at, int size, int peer, long seq) {
        byte b = (byte) (peer * 31 + seq * 7);
        for (int i = HEADER; i < size; i++) {
            if (seg.get(JAVA_BYTE, at + i) != (byte) (b + i)) {
                return false;
            }
        }
        return true;
    }
}
