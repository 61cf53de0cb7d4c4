package dev.abyss.ffi.uring;

import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A provided-buffer ring (IORING_REGISTER_PBUF_RING): a group of equal buffers the kernel picks
 * from for receives issued with IOSQE_BUFFER_SELECT, and the owner hands back after use.
 *
 * <p>{@link #recycle(int)} writes a buffer entry at the ring's local tail; {@link #publish()} makes
 * every recycled entry visible with one release store of the 16-bit {@code tail}, which the kernel
 * reads with acquire. Single-threaded: the ring's owner recycles and publishes.
 */
public final class BufferRing implements AutoCloseable {
    private static final VarHandle SHORT = JAVA_SHORT.varHandle();
    private static final long BUF_SIZE = IoUringLayouts.BUF.byteSize();
    private static final int PAGE = 4096;

    private final IoUring ring;
    private final int groupId;
    private final int entries;
    private final int mask;
    private final int bufferSize;
    private final Arena arena;
    private final MemorySegment entriesArea;
    private final MemorySegment buffers;
    private int tail;
    private boolean closed;

    private BufferRing(IoUring ring, int groupId, int entries, int bufferSize, Arena arena) {
        this.ring = ring;
        this.groupId = groupId;
        this.entries = entries;
        this.mask = entries - 1;
        this.bufferSize = bufferSize;
        this.arena = arena;
        this.entriesArea = arena.allocate(BUF_SIZE * entries, PAGE);
        this.buffers = arena.allocate((long) bufferSize * entries, PAGE);
    }

    /**
     * Registers a ring of {@code entries} buffers of {@code bufferSize} bytes as buffer group
     * {@code groupId} of {@code ring}, with every buffer handed to the kernel.
     *
     * @param ring       the io_uring instance
     * @param groupId    the buffer group id, 0 to 65535, named by SQEs with IOSQE_BUFFER_SELECT
     * @param entries    a power of two, 1 to 32768
     * @param bufferSize bytes per buffer
     * @return the registered ring; {@link #close()} unregisters it
     * @throws NativeException EINVAL on kernels before 5.19, EEXIST when the group id is taken
     */
    public static BufferRing register(IoUring ring, int groupId, int entries, int bufferSize) throws NativeException {
        if (entries < 1 || entries > 32768 || Integer.bitCount(entries) != 1) {
            throw new IllegalArgumentException("buffer ring entries must be a power of two in [1, 32768], was " + entries);
        }
        if (bufferSize < 1) {
            throw new IllegalArgumentException("buffer size must be positive, was " + bufferSize);
        }
        if (groupId < 0 || groupId > 0xFFFF) {
            throw new IllegalArgumentException("buffer group id must fit 16 bits, was " + groupId);
        }
        Arena arena = Arena.ofShared();
        BufferRing br = new BufferRing(ring, groupId, entries, bufferSize, arena);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment reg = tmp.allocate(IoUringLayouts.BUF_REG);
            reg.set(JAVA_LONG, 0, br.entriesArea.address());
            reg.set(JAVA_INT, 8, entries);
            reg.set(JAVA_SHORT, 12, (short) groupId);
            int rc = ring.register(IoUringConstants.IORING_REGISTER_PBUF_RING, reg, 1);
            if (rc < 0) {
                arena.close();
                throw new NativeException("io_uring_register(PBUF_RING, group " + groupId + ")", -rc);
            }
        }
        for (int bid = 0; bid < entries; bid++) {
            br.recycle(bid);
        }
        br.publish();
        return br;
    }

    /**
     * Queues buffer {@code bufferId} for the kernel again; visible after {@link #publish()}.
     *
     * @param bufferId a buffer the kernel handed out
     */
    public void recycle(int bufferId) {
        long entry = BUF_SIZE * (tail & mask);
        entriesArea.set(JAVA_LONG, entry, buffers.address() + (long) bufferId * bufferSize);
        entriesArea.set(JAVA_INT, entry + 8, bufferSize);
        entriesArea.set(JAVA_SHORT, entry + 12, (short) bufferId);
        tail++;
    }

    /** Makes every recycled buffer visible to the kernel (release store of the ring tail). */
    public void publish() {
        SHORT.setRelease(entriesArea, IoUringLayouts.BUF_RING_TAIL, (short) tail);
    }

    /**
     * The buffer id a completion used (valid when its flags have IORING_CQE_F_BUFFER).
     *
     * @param cqeFlags the completion's flags
     * @return the buffer id
     */
    public static int bufferId(int cqeFlags) {
        return cqeFlags >>> IoUringConstants.IORING_CQE_BUFFER_SHIFT;
    }

    /**
     * The memory of buffer {@code bufferId} (the whole buffer, {@link #bufferSize()} bytes).
     *
     * @param bufferId the buffer
     * @return a slice of {@link #buffers()}
     */
    public MemorySegment buffer(int bufferId) {
        return buffers.asSlice((long) bufferId * bufferSize, bufferSize);
    }

    /** {@return all buffers; buffer {@code i} starts at {@code i * bufferSize()}} */
    public MemorySegment buffers() {
        return buffers;
    }

    /** {@return the buffer group id} */
    public int groupId() {
        return groupId;
    }

    /** {@return the number of buffers} */
    public int entries() {
        return entries;
    }

    /** {@return bytes per buffer} */
    public int bufferSize() {
        return bufferSize;
    }

    /** Unregisters the group and frees its memory. Call before closing the ring. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment reg = tmp.allocate(IoUringLayouts.BUF_REG);
            reg.set(JAVA_SHORT, 12, (short) groupId);
            ring.register(IoUringConstants.IORING_UNREGISTER_PBUF_RING, reg, 1);
        }
        arena.close();
    }
}
