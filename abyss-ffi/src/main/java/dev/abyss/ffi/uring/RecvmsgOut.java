package dev.abyss.ffi.uring;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Reads the buffer a multishot IORING_OP_RECVMSG filled: a {@code struct io_uring_recvmsg_out},
 * then {@code msg_namelen} bytes of peer address, then {@code msg_controllen} bytes of control data,
 * then the payload. The name and control sizes are those of the msghdr given with the SQE.
 */
public final class RecvmsgOut {
    private RecvmsgOut() {
    }

    public static final int HEADER_SIZE = (int) IoUringLayouts.RECVMSG_OUT.byteSize();

    /** The peer address length the kernel wrote. */
    public static int nameLength(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at);
    }

    public static int controlLength(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at + 4);
    }

    /** Full payload length of the datagram, which may exceed what fit in the buffer (then MSG_TRUNC is set). */
    public static int payloadLength(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at + 8);
    }

    public static int flags(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at + 12);
    }

    public static long nameOffset() {
        return HEADER_SIZE;
    }

    public static long payloadOffset(int msgNameLength, int msgControlLength) {
        return HEADER_SIZE + (long) msgNameLength + msgControlLength;
    }
}
