package dev.abyss.ffi.net;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Reads the control messages ({@code struct cmsghdr} sequences) the kernel wrote into a receive's
 * {@code msg_control} space, in place: the {@code CMSG_FIRSTHDR}/{@code CMSG_NXTHDR} walk over a
 * region of a segment given as offset and length, so a receive loop parses each datagram's control
 * bytes without slicing or allocating.
 *
 * <p>A malformed sequence (a {@code cmsg_len} shorter than the header or running past the region,
 * e.g. after MSG_CTRUNC) ends the walk: what follows is not read.
 */
public final class ControlMessages {
    private static final long HEADER = MsgLayouts.CMSGHDR.byteSize();

    private ControlMessages() {
    }

    /**
     * The offset in {@code control} of the data of the first control message of {@code level} and
     * {@code type} in the {@code length} bytes at {@code at}.
     *
     * @param control the segment holding the control messages
     * @param at      where they start in {@code control}
     * @param length  their total length ({@code msg_controllen})
     * @param level   {@code cmsg_level} wanted, e.g. {@link Net#SOL_SOCKET}
     * @param type    {@code cmsg_type} wanted, e.g. {@link Net#SO_RXQ_OVFL}
     * @return the data's offset, or -1 when there is none
     */
    public static long find(MemorySegment control, long at, long length, int level, int type) {
        long end = at + length;
        long p = at;
        while (p + HEADER <= end) {
            long len = control.get(JAVA_LONG_UNALIGNED, p + MsgLayouts.CMSG_LEN_FIELD);
            if (len < HEADER || len > end - p) {
                return -1; // malformed or truncated
            }
            if (control.get(JAVA_INT_UNALIGNED, p + MsgLayouts.CMSG_LEVEL) == level
                    && control.get(JAVA_INT_UNALIGNED, p + MsgLayouts.CMSG_TYPE) == type) {
                return p + MsgLayouts.CMSG_DATA_OFFSET;
            }
            p += MsgLayouts.cmsgAlign(len);
        }
        return -1;
    }

    /**
     * The offset of the control message after the one at {@code p} (the first one is at the region's
     * start), or -1 when there is no other whole one before {@code end}: the
     * {@code CMSG_NXTHDR} step, for a walk that reads several types in one pass.
     *
     * @param control the segment holding the control messages
     * @param p       a control message's header, or the region's start to get the first
     * @param end     the region's end
     * @param first   true to check the header at {@code p} itself rather than step past it
     * @return the header's offset, or -1
     */
    public static long next(MemorySegment control, long p, long end, boolean first) {
        if (!first) {
            p += MsgLayouts.cmsgAlign(control.get(JAVA_LONG_UNALIGNED, p + MsgLayouts.CMSG_LEN_FIELD));
        }
        if (p + HEADER > end) {
            return -1;
        }
        long len = control.get(JAVA_LONG_UNALIGNED, p + MsgLayouts.CMSG_LEN_FIELD);
        return len < HEADER || len > end - p ? -1 : p; // malformed or truncated ends the walk
    }

    /**
     * {@return the {@code cmsg_level} of the control message whose header is at {@code p}}
     *
     * @param control the segment holding the control messages
     * @param p       the header's offset, from {@link #next}
     */
    public static int level(MemorySegment control, long p) {
        return control.get(JAVA_INT_UNALIGNED, p + MsgLayouts.CMSG_LEVEL);
    }

    /**
     * {@return the {@code cmsg_type} of the control message whose header is at {@code p}}
     *
     * @param control the segment holding the control messages
     * @param p       the header's offset, from {@link #next}
     */
    public static int type(MemorySegment control, long p) {
        return control.get(JAVA_INT_UNALIGNED, p + MsgLayouts.CMSG_TYPE);
    }

    /**
     * Writes the header of a control message with {@code dataLength} bytes of data at {@code at}
     * (for a send's {@code msg_control}); the caller writes the data at the returned offset. The
     * message occupies {@link MsgLayouts#cmsgSpace} bytes.
     *
     * @param control    the segment to write into
     * @param at         where the header goes
     * @param level      its {@code cmsg_level}
     * @param type       its {@code cmsg_type}
     * @param dataLength bytes of data
     * @return the offset of its data
     */
    public static long write(MemorySegment control, long at, int level, int type, long dataLength) {
        control.set(JAVA_LONG_UNALIGNED, at + MsgLayouts.CMSG_LEN_FIELD, MsgLayouts.cmsgLen(dataLength));
        control.set(JAVA_INT_UNALIGNED, at + MsgLayouts.CMSG_LEVEL, level);
        control.set(JAVA_INT_UNALIGNED, at + MsgLayouts.CMSG_TYPE, type);
        return at + MsgLayouts.CMSG_DATA_OFFSET;
    }

    /**
     * Bytes of data of the control message whose data {@link #find} placed at {@code data}.
     *
     * @param control the segment holding the control messages
     * @param data    what {@link #find} returned
     * @return the data's length
     */
    public static long dataLength(MemorySegment control, long data) {
        long header = data - MsgLayouts.CMSG_DATA_OFFSET;
        return control.get(JAVA_LONG_UNALIGNED, header + MsgLayouts.CMSG_LEN_FIELD) - MsgLayouts.CMSG_DATA_OFFSET;
    }

    /**
     * The socket's cumulative drop counter carried by a SOL_SOCKET/SO_RXQ_OVFL control message
     * (a {@code uint32}, so it wraps): the kernel adds it only once the socket has dropped something.
     *
     * @param control the segment holding the control messages
     * @param at      where they start in {@code control}
     * @param length  their total length ({@code msg_controllen})
     * @return the counter, or -1 when the region has none
     */
    public static long rxqOverflow(MemorySegment control, long at, long length) {
        long data = find(control, at, length, Net.SOL_SOCKET, Net.SO_RXQ_OVFL);
        if (data < 0 || dataLength(control, data) < 4) {
            return -1;
        }
        return Integer.toUnsignedLong(control.get(JAVA_INT_UNALIGNED, data));
    }
}
