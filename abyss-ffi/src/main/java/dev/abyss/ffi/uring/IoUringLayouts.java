package dev.abyss.ffi.uring;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The structures of {@code <linux/io_uring.h>}. Where C has a union, the member is named after one
 * of its C names (the one this project uses); the ABI test checks each name's offset and size.
 */
public final class IoUringLayouts {
    private IoUringLayouts() {
    }

    /** {@code struct io_sqring_offsets}: where the SQ ring's fields are in its mapping. */
    public static final StructLayout SQRING_OFFSETS = MemoryLayout.structLayout(
            JAVA_INT.withName("head"),
            JAVA_INT.withName("tail"),
            JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("dropped"),
            JAVA_INT.withName("array"),
            JAVA_INT.withName("resv1"),
            JAVA_LONG.withName("resv2")).withName("io_sqring_offsets");

    /** {@code struct io_cqring_offsets}: where the CQ ring's fields are in its mapping. */
    public static final StructLayout CQRING_OFFSETS = MemoryLayout.structLayout(
            JAVA_INT.withName("head"),
            JAVA_INT.withName("tail"),
            JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"),
            JAVA_INT.withName("overflow"),
            JAVA_INT.withName("cqes"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("resv1"),
            JAVA_LONG.withName("resv2")).withName("io_cqring_offsets");

    /** {@code struct io_uring_params}: what {@code io_uring_setup} takes and reports. */
    public static final StructLayout PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("sq_entries"),
            JAVA_INT.withName("cq_entries"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("sq_thread_cpu"),
            JAVA_INT.withName("sq_thread_idle"),
            JAVA_INT.withName("features"),
            JAVA_INT.withName("wq_fd"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv"),
            SQRING_OFFSETS.withName("sq_off"),
            CQRING_OFFSETS.withName("cq_off")).withName("io_uring_params");

    /** {@code struct io_uring_sqe}: one submission (64 bytes). */
    public static final StructLayout SQE = MemoryLayout.structLayout(
            JAVA_BYTE.withName("opcode"),
            JAVA_BYTE.withName("flags"),
            JAVA_SHORT.withName("ioprio"),
            JAVA_INT.withName("fd"),
            JAVA_LONG.withName("off"),
            JAVA_LONG.withName("addr"),
            JAVA_INT.withName("len"),
            JAVA_INT.withName("msg_flags"),
            JAVA_LONG.withName("user_data"),
            JAVA_SHORT.withName("buf_group"),
            JAVA_SHORT.withName("personality"),
            JAVA_INT.withName("file_index"),
            JAVA_LONG.withName("addr3"),
            JAVA_LONG.withName("__pad2")).withName("io_uring_sqe");

    /** {@code struct io_uring_cqe}: one completion (16 bytes). */
    public static final StructLayout CQE = MemoryLayout.structLayout(
            JAVA_LONG.withName("user_data"),
            JAVA_INT.withName("res"),
            JAVA_INT.withName("flags")).withName("io_uring_cqe");

    /** {@code struct io_uring_buf}: one entry of a provided buffer ring. */
    public static final StructLayout BUF = MemoryLayout.structLayout(
            JAVA_LONG.withName("addr"),
            JAVA_INT.withName("len"),
            JAVA_SHORT.withName("bid"),
            JAVA_SHORT.withName("resv")).withName("io_uring_buf");

    /** The header view of {@code struct io_uring_buf_ring}: its {@code tail} overlays bufs[0].resv. */
    public static final StructLayout BUF_RING = MemoryLayout.structLayout(
            JAVA_LONG.withName("resv1"),
            JAVA_INT.withName("resv2"),
            JAVA_SHORT.withName("resv3"),
            JAVA_SHORT.withName("tail")).withName("io_uring_buf_ring");

    /** {@code struct io_uring_buf_reg}: registers a provided buffer ring. */
    public static final StructLayout BUF_REG = MemoryLayout.structLayout(
            JAVA_LONG.withName("ring_addr"),
            JAVA_INT.withName("ring_entries"),
            JAVA_SHORT.withName("bgid"),
            JAVA_SHORT.withName("pad"),
            MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("resv")).withName("io_uring_buf_reg");

    /** {@code struct io_uring_recvmsg_out}: the header a multishot {@code RECVMSG} writes at the start of each buffer. */
    public static final StructLayout RECVMSG_OUT = MemoryLayout.structLayout(
            JAVA_INT.withName("namelen"),
            JAVA_INT.withName("controllen"),
            JAVA_INT.withName("payloadlen"),
            JAVA_INT.withName("flags")).withName("io_uring_recvmsg_out");

    /** {@code struct io_uring_probe_op}: one opcode of a probe. */
    public static final StructLayout PROBE_OP = MemoryLayout.structLayout(
            JAVA_BYTE.withName("op"),
            JAVA_BYTE.withName("resv"),
            JAVA_SHORT.withName("flags"),
            JAVA_INT.withName("resv2")).withName("io_uring_probe_op");

    /** The fixed head of {@code struct io_uring_probe}; {@code ops[]} follow it. */
    public static final StructLayout PROBE = MemoryLayout.structLayout(
            JAVA_BYTE.withName("last_op"),
            JAVA_BYTE.withName("ops_len"),
            JAVA_SHORT.withName("resv"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv2")).withName("io_uring_probe");

    // offsets used on hot paths
    static final long SQE_OPCODE = SQE.byteOffset(groupElement("opcode"));
    static final long SQE_FLAGS = SQE.byteOffset(groupElement("flags"));
    static final long SQE_IOPRIO = SQE.byteOffset(groupElement("ioprio"));
    static final long SQE_FD = SQE.byteOffset(groupElement("fd"));
    static final long SQE_OFF = SQE.byteOffset(groupElement("off"));
    static final long SQE_ADDR = SQE.byteOffset(groupElement("addr"));
    static final long SQE_LEN = SQE.byteOffset(groupElement("len"));
    static final long SQE_OP_FLAGS = SQE.byteOffset(groupElement("msg_flags"));
    static final long SQE_USER_DATA = SQE.byteOffset(groupElement("user_data"));
    static final long SQE_BUF_GROUP = SQE.byteOffset(groupElement("buf_group"));
    static final long CQE_USER_DATA = CQE.byteOffset(groupElement("user_data"));
    static final long CQE_RES = CQE.byteOffset(groupElement("res"));
    static final long CQE_FLAGS = CQE.byteOffset(groupElement("flags"));
    static final long BUF_RING_TAIL = BUF_RING.byteOffset(groupElement("tail"));

    static long paramOffset(String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = groupElement(path[i]);
        }
        return PARAMS.byteOffset(elements);
    }
}
