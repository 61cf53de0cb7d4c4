package dev.abyss.server.dtls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The DTLS record header (RFC 6347 4.1), read in place from a datagram, every read bounds-checked
 * by its caller through {@link #fits}:
 * <pre>
 *  0      type (20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data)
 *  1..2   version (0xfefd DTLS 1.2, 0xfeff DTLS 1.0)
 *  3..4   epoch
 *  5..10  sequence number (48 bits)
 *  11..12 length of the fragment that follows
 * </pre>
 */
final class Records {
    static final int HEADER = 13;
    static final int CHANGE_CIPHER_SPEC = 20;
    static final int ALERT = 21;
    static final int HANDSHAKE = 22;
    static final int APPLICATION_DATA = 23;
    static final int EPOCH_AT = 3;
    static final int SEQUENCE_AT = 5;
    static final int LENGTH_AT = 11;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Records() {
    }

    static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xff;
    }

    static int u16(MemorySegment s, long at) {
        return s.get(U16, at) & 0xffff;
    }

    static int u24(MemorySegment s, long at) {
        return u8(s, at) << 16 | u16(s, at + 1);
    }

    static long u48(MemorySegment s, long at) {
        return (long) u16(s, at) << 32 | (u16(s, at + 2) & 0xffffL) << 16 | u16(s, at + 4);
    }

    static void put8(MemorySegment s, long at, int v) {
        s.set(ValueLayout.JAVA_BYTE, at, (byte) v);
    }

    static void put16(MemorySegment s, long at, int v) {
        s.set(U16, at, (short) v);
    }

    static void put24(MemorySegment s, long at, int v) {
        put8(s, at, v >>> 16);
        put16(s, at + 1, v);
    }

    /**
     * The length of the whole record at {@code at} (header and fragment), or -1 when it is no
     * well-formed DTLS record: too short for a header, a version that is not DTLS, a fragment past
     * the datagram's end.
     */
    static int recordLength(MemorySegment datagram, long at) {
        long left = datagram.byteSize() - at;
        if (left < HEADER) {
            return -1;
        }
        int type = u8(datagram, at);
        if (type < CHANGE_CIPHER_SPEC || type > APPLICATION_DATA || u8(datagram, at + 1) != 0xfe) {
            return -1;
        }
        int length = u16(datagram, at + LENGTH_AT);
        return HEADER + length <= left ? HEADER + length : -1;
    }
}
