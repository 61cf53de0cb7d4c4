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

    /** Bytes of {@code struct io_uring_recvmsg_out} at the start of the buffer. */
    public static final int HEADER_SIZE = (int) IoUringLayouts.RECVMSG_OUT.byteSize();

    /**
     * The peer address length the kernel wrote.
     *
     * @param buffer the buffer the kernel filled
     * @param at     where the {@code io_uring_recvmsg_out} starts in it
     * @return {@code namelen}
     */
    public static int nameLength(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at);
    }

    /**
     * The control data length the kernel wrote.
     *
     * @param buffer the buffer the kernel filled
     * @param at     where the {@code io_uring_recvmsg_out} starts in it
     * @return {@code controllen}
     */
    public static int controlLength(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at + 4);
    }

    /**
     * Full payload length of the datagram, which may exceed what fit in the buffer (then MSG_TRUNC is set).
     *
     * @param buffer the buffer the kernel filled
     * @param at     where the {@code io_uring_recvmsg_out} starts in it
     * @return {@code payloadlen}
     */
    public static int payloadLength(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at + 8);
    }

    /**
     * The message flags ({@code MSG_TRUNC}, {@code MSG_CTRUNC}).
     *
     * @param buffer the buffer the kernel filled
     * @param at     where the {@code io_uring_recvmsg_out} starts in it
     * @return {@code flags}
     */
    public static int flags(MemorySegment buffer, long at) {
        return buffer.get(JAVA_INT, at + 12);
    }

    /** {@return where the peer address starts: after the header} */
    public static long nameOffset() {
        return HEADER_SIZE;
    }

    /**
     * Where the control messages start: after the header and the msghdr's whole name space.
     *
     * @param msgNameLength {@code msg_namelen} of the msghdr given with the SQE
     * @return the offset from the start of the header
     */
    public static long controlOffset(int msgNameLength) {
        return HEADER_SIZE + (long) msgNameLength;
    }

    /**
     * Where the payload starts: after the header, the name space and the control space.
     *
     * @param msgNameLength    {@code msg_namelen} of the msghdr given with the SQE
     * @param msgControlLength {@code msg_controllen} of the msghdr given with the SQE
     * @return the offset from the start of the header
     */
    public static long payloadOffset(int msgNameLength, int msgControlLength) {
        return HEADER_SIZE + (long) msgNameLength + msgControlLength;
    }
}
