package dev.abyss.ffi.uring;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

import static dev.abyss.ffi.uring.IoUringConstants.IORING_ENTER_EXT_ARG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_ENTER_GETEVENTS;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_FEAT_SINGLE_MMAP;
import static dev.abyss.ffi.uring.IoUringLayouts.CQE_FLAGS;
import static dev.abyss.ffi.uring.IoUringLayouts.CQE_RES;
import static dev.abyss.ffi.uring.IoUringLayouts.CQE_USER_DATA;
import static dev.abyss.ffi.uring.IoUringLayouts.paramOffset;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * An io_uring instance: setup, the mmapped submission and completion rings, SQE fill and submit,
 * CQE reap.
 *
 * <p><b>Memory ordering</b>, as the kernel expects (see io_uring(7)): the SQ tail is published with
 * a release store after the SQEs are written, the SQ head is read with an acquire load; the CQ
 * tail is read with an acquire load before CQEs are read, the CQ head is advanced with a release
 * store after they were read. All four go through one {@link VarHandle} on the mapped segments.
 *
 * <p>Single-threaded: one owner thread fills, submits and reaps. {@link #close()} unmaps the rings
 * and closes the ring fd; the instance is unusable afterwards.
 */
@SuppressWarnings("restricted") // the rings are kernel memory mapped into this process
public final class IoUring implements AutoCloseable {
    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final long SQE_SIZE = IoUringLayouts.SQE.byteSize();
    private static final long CQE_SIZE = IoUringLayouts.CQE.byteSize();

    /** {@code struct io_uring_getevents_arg}, for waits with a timeout (IORING_ENTER_EXT_ARG). */
    public static final StructLayout GETEVENTS_ARG = MemoryLayout.structLayout(
            JAVA_LONG.withName("sigmask"),
            JAVA_INT.withName("sigmask_sz"),
            JAVA_INT.withName("pad"),
            JAVA_LONG.withName("ts")).withName("io_uring_getevents_arg");

    /** {@code struct __kernel_timespec}. */
    public static final StructLayout KERNEL_TIMESPEC = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"),
            JAVA_LONG.withName("tv_nsec")).withName("__kernel_timespec");

    /** Receives completions from {@link #forEachCompletion}. */
    @FunctionalInterface
    public interface CompletionHandler {
        /**
         * One completion.
         *
         * @param userData the SQE's {@code user_data}
         * @param result   the operation's result, {@code -errno} on failure
         * @param flags    {@code IORING_CQE_F_*} flags
         */
        void onCompletion(long userData, int result, int flags);
    }

    private final int fd;
    private final int features;
    private final int setupFlags;
    private final int sqEntries;
    private final int cqEntries;

    private final long sqRingAddress;
    private final long sqRingSize;
    private final long cqRingAddress; // == sqRingAddress with a single mmap
    private final long cqRingSize;
    private final long sqesAddress;
    private final long sqesSize;

    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;

    private final long sqHeadOffset;
    private final long sqTailOffset;
    private final long sqFlagsOffset;
    private final long sqDroppedOffset;
    private final int sqMask;
    private final long cqHeadOffset;
    private final long cqTailOffset;
    private final long cqOverflowOffset;
    private final int cqMask;
    private final long cqesOffset;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment waitArg;
    private final MemorySegment waitTimespec;

    /** Tail of SQEs handed out by {@link #nextSqe()}, published to the kernel on submit. */
    private int sqTail;
    private boolean closed;

    private IoUring(int fd, MemorySegment params) throws NativeException {
        this.fd = fd;
        this.setupFlags = params.get(JAVA_INT, paramOffset("flags"));
        this.features = params.get(JAVA_INT, paramOffset("features"));
        this.sqEntries = params.get(JAVA_INT, paramOffset("sq_entries"));
        this.cqEntries = params.get(JAVA_INT, paramOffset("cq_entries"));

        int sqArray = params.get(JAVA_INT, paramOffset("sq_off", "array"));
        int cqes = params.get(JAVA_INT, paramOffset("cq_off", "cqes"));
        long sqSize = sqArray + 4L * sqEntries;
        long cqSize = cqes + CQE_SIZE * cqEntries;
        boolean single = (features & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single) {
            sqSize = cqSize = Math.max(sqSize, cqSize);
        }
        long sq = 0;
        long cq = 0;
        long sqeArea = 0;
        try {
            sq = map(sqSize, IoUringConstants.IORING_OFF_SQ_RING, "mmap(SQ ring)");
            cq = single ? sq : map(cqSize, IoUringConstants.IORING_OFF_CQ_RING, "mmap(CQ ring)");
            sqeArea = map(SQE_SIZE * sqEntries, IoUringConstants.IORING_OFF_SQES, "mmap(SQEs)");
        } catch (NativeException e) {
            if (sq != 0) {
                LibC.munmap(sq, sqSize);
            }
            if (cq != 0 && !single) {
                LibC.munmap(cq, cqSize);
            }
            throw e;
        }
        this.sqRingAddress = sq;
        this.sqRingSize = sqSize;
        this.cqRingAddress = cq;
        this.cqRingSize = cqSize;
        this.sqesAddress = sqeArea;
        this.sqesSize = SQE_SIZE * sqEntries;
        // bound to the ring's arena: after close() an access throws instead of touching unmapped memory
        this.sqRing = MemorySegment.ofAddress(sq).reinterpret(sqSize, arena, null);
        this.cqRing = MemorySegment.ofAddress(cq).reinterpret(cqSize, arena, null);
        this.sqes = MemorySegment.ofAddress(sqeArea).reinterpret(sqesSize, arena, null);

        this.sqHeadOffset = params.get(JAVA_INT, paramOffset("sq_off", "head"));
        this.sqTailOffset = params.get(JAVA_INT, paramOffset("sq_off", "tail"));
        this.sqFlagsOffset = params.get(JAVA_INT, paramOffset("sq_off", "flags"));
        this.sqDroppedOffset = params.get(JAVA_INT, paramOffset("sq_off", "dropped"));
        this.sqMask = sqRing.get(JAVA_INT, params.get(JAVA_INT, paramOffset("sq_off", "ring_mask")));
        this.cqHeadOffset = params.get(JAVA_INT, paramOffset("cq_off", "head"));
        this.cqTailOffset = params.get(JAVA_INT, paramOffset("cq_off", "tail"));
        this.cqOverflowOffset = params.get(JAVA_INT, paramOffset("cq_off", "overflow"));
        this.cqMask = cqRing.get(JAVA_INT, params.get(JAVA_INT, paramOffset("cq_off", "ring_mask")));
        this.cqesOffset = cqes;

        // SQE index i always sits in array slot i: fill the indirection array once
        for (int i = 0; i < sqEntries; i++) {
            sqRing.set(JAVA_INT, sqArray + 4L * i, i);
        }
        this.sqTail = (int) INT.getAcquire(sqRing, sqTailOffset);
        this.waitArg = arena.allocate(GETEVENTS_ARG);
        this.waitTimespec = arena.allocate(KERNEL_TIMESPEC);
        waitArg.set(JAVA_LONG, GETEVENTS_ARG.byteOffset(MemoryLayout.PathElement.groupElement("ts")),
                waitTimespec.address());
    }

    private long map(long size, long offset, String what) throws NativeException {
        long addr = LibC.mmap(0, size, Net.PROT_READ | Net.PROT_WRITE, Net.MAP_SHARED | Net.MAP_POPULATE, fd, offset);
        return LibC.check(addr, what);
    }

    /**
     * Creates a ring with at least {@code entries} SQEs (rounded up to a power of two by the kernel)
     * and the given {@code IORING_SETUP_*} flags.
     *
     * @param entries   SQ entries wanted
     * @param flags     {@code IORING_SETUP_*} flags
     * @param cqEntries 0 for the kernel's default (twice the SQ), else a CQ size (sets IORING_SETUP_CQSIZE)
     * @return the ring; {@link #close()} unmaps and closes it
     * @throws NativeException ENOSYS or EPERM where io_uring is unavailable or disabled, EINVAL for
     *                         flags this kernel does not know
     */
    public static IoUring setup(int entries, int flags, int cqEntries) throws NativeException {
        if (entries < 1) {
            throw new IllegalArgumentException("io_uring entries must be at least 1, was " + entries);
        }
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment params = tmp.allocate(IoUringLayouts.PARAMS);
            int f = flags | (cqEntries > 0 ? IoUringConstants.IORING_SETUP_CQSIZE : 0);
            params.set(JAVA_INT, paramOffset("flags"), f);
            params.set(JAVA_INT, paramOffset("cq_entries"), cqEntries);
            int fd = LibC.ioUringSetup(entries, params);
            if (fd < 0) {
                throw new NativeException("io_uring_setup(" + entries + ", flags=0x" + Integer.toHexString(f) + ")", -fd);
            }
            try {
                return new IoUring(fd, params);
            } catch (NativeException | RuntimeException e) {
                LibC.close(fd);
                throw e;
            }
        }
    }

    /**
     * {@link #setup(int, int, int)} with the kernel's default CQ size.
     *
     * @param entries SQ entries wanted
     * @param flags   {@code IORING_SETUP_*} flags
     * @return the ring
     * @throws NativeException as {@link #setup(int, int, int)}
     */
    public static IoUring setup(int entries, int flags) throws NativeException {
        return setup(entries, flags, 0);
    }

    // ---- submission ----------------------------------------------------------------------------

    /**
     * Claims the next free SQE. The SQE is zeroed; fill it with {@link #prep} and the setters below.
     *
     * @return its index, or -1 when the SQ is full (submit first)
     */
    public int nextSqe() {
        int head = (int) INT.getAcquire(sqRing, sqHeadOffset);
        if (sqTail - head >= sqEntries) {
            return -1;
        }
        int index = sqTail & sqMask;
        sqTail++;
        long base = SQE_SIZE * index;
        for (long k = 0; k < SQE_SIZE; k += 8) {
            sqes.set(JAVA_LONG, base + k, 0L); // no slice: nothing allocated per SQE
        }
        return index;
    }

    /**
     * Fills the common fields of SQE {@code index}.
     *
     * @param index    from {@link #nextSqe()}
     * @param opcode   an {@code IORING_OP_*} opcode
     * @param targetFd the descriptor it acts on
     * @param addr     {@code addr}: a buffer or msghdr address
     * @param len      {@code len}: a length or count
     * @param offset   {@code off}: a file offset, or an opcode's argument
     * @param opFlags  the opcode's own flags ({@code msg_flags}, {@code poll32_events}, ...)
     * @param userData comes back in the completion
     */
    public void prep(int index, int opcode, int targetFd, long addr, int len, long offset, int opFlags,
                     long userData) {
        long base = SQE_SIZE * index;
        sqes.set(JAVA_BYTE, base + IoUringLayouts.SQE_OPCODE, (byte) opcode);
        sqes.set(JAVA_INT, base + IoUringLayouts.SQE_FD, targetFd);
        sqes.set(JAVA_LONG, base + IoUringLayouts.SQE_OFF, offset);
        sqes.set(JAVA_LONG, base + IoUringLayouts.SQE_ADDR, addr);
        sqes.set(JAVA_INT, base + IoUringLayouts.SQE_LEN, len);
        sqes.set(JAVA_INT, base + IoUringLayouts.SQE_OP_FLAGS, opFlags);
        sqes.set(JAVA_LONG, base + IoUringLayouts.SQE_USER_DATA, userData);
    }

    /**
     * Sets {@code IOSQE_*} flags of SQE {@code index}.
     *
     * @param index from {@link #nextSqe()}
     * @param flags {@code IOSQE_*} flags
     */
    public void sqeFlags(int index, int flags) {
        sqes.set(JAVA_BYTE, SQE_SIZE * index + IoUringLayouts.SQE_FLAGS, (byte) flags);
    }

    /**
     * Sets {@code ioprio} of SQE {@code index} (carries e.g. IORING_RECV_MULTISHOT).
     *
     * @param index  from {@link #nextSqe()}
     * @param ioprio the value
     */
    public void ioprio(int index, int ioprio) {
        sqes.set(JAVA_SHORT, SQE_SIZE * index + IoUringLayouts.SQE_IOPRIO, (short) ioprio);
    }

    /**
     * Sets {@code buf_group} of SQE {@code index}, for IOSQE_BUFFER_SELECT.
     *
     * @param index from {@link #nextSqe()}
     * @param group a registered buffer group id
     */
    public void bufferGroup(int index, int group) {
        sqes.set(JAVA_SHORT, SQE_SIZE * index + IoUringLayouts.SQE_BUF_GROUP, (short) group);
    }

    /** {@return SQEs claimed but not yet consumed by the kernel} */
    public int pending() {
        return sqTail - (int) INT.getAcquire(sqRing, sqHeadOffset);
    }

    /** {@return publishes claimed SQEs and submits them: how many the kernel consumed, or {@code -errno}} */
    public int submit() {
        return enter(0, 0, MemorySegment.NULL, 0);
    }

    /**
     * Publishes and submits claimed SQEs and lets the kernel post completions without waiting: one
     * {@code io_uring_enter} with GETEVENTS even when nothing is queued, which is how a
     * DEFER_TASKRUN ring gets its pending completions.
     *
     * @return the number submitted, or {@code -errno}
     */
    public int submitAndGetEvents() {
        INT.setRelease(sqRing, sqTailOffset, sqTail);
        return LibC.ioUringEnter(fd, pending(), 0, IORING_ENTER_GETEVENTS, MemorySegment.NULL, 0);
    }

    /**
     * Publishes and submits, then waits until at least {@code minComplete} CQEs are ready.
     *
     * @param minComplete completions to wait for
     * @return the number submitted, or {@code -errno} (EINTR when interrupted by a signal)
     */
    public int submitAndWait(int minComplete) {
        return enter(minComplete, IORING_ENTER_GETEVENTS, MemorySegment.NULL, 0);
    }

    /**
     * Like {@link #submitAndWait(int)} but gives up after {@code timeoutNanos} (needs
     * IORING_FEAT_EXT_ARG).
     *
     * @param minComplete  completions to wait for
     * @param timeoutNanos the longest wait
     * @return the number submitted, or {@code -errno} ({@code -ETIME} on timeout)
     */
    public int submitAndWait(int minComplete, long timeoutNanos) {
        waitTimespec.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
        waitTimespec.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
        return enter(minComplete, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, waitArg, GETEVENTS_ARG.byteSize());
    }

    private int enter(int minComplete, int flags, MemorySegment arg, long argSize) {
        INT.setRelease(sqRing, sqTailOffset, sqTail);
        int toSubmit = pending();
        if (toSubmit == 0 && minComplete == 0) {
            return 0;
        }
        return LibC.ioUringEnter(fd, toSubmit, minComplete, flags, arg, argSize);
    }

    // ---- completion ----------------------------------------------------------------------------

    /** {@return CQEs ready to reap} */
    public int completionsReady() {
        return (int) INT.getAcquire(cqRing, cqTailOffset) - cqRing.get(JAVA_INT, cqHeadOffset);
    }

    /**
     * Hands every ready CQE to {@code handler} in order, releasing each slot to the kernel before its
     * callback runs.
     *
     * @param handler receives each completion
     * @return how many were reaped
     */
    public int forEachCompletion(CompletionHandler handler) {
        int head = cqRing.get(JAVA_INT, cqHeadOffset);
        int tail = (int) INT.getAcquire(cqRing, cqTailOffset);
        int n = tail - head;
        for (int h = head; h != tail; h++) {
            long cqe = cqesOffset + CQE_SIZE * (h & cqMask);
            long userData = cqRing.get(JAVA_LONG, cqe + CQE_USER_DATA);
            int res = cqRing.get(JAVA_INT, cqe + CQE_RES);
            int flags = cqRing.get(JAVA_INT, cqe + CQE_FLAGS);
            // release the slot before the callback runs: it may submit and need CQ room
            INT.setRelease(cqRing, cqHeadOffset, h + 1);
            handler.onCompletion(userData, res, flags);
        }
        return n;
    }

    /** {@return CQEs the kernel could not post because the CQ ring was full (it holds them back with NODROP)} */
    public int cqOverflow() {
        return (int) INT.getAcquire(cqRing, cqOverflowOffset);
    }

    /** {@return SQEs the kernel dropped as invalid} */
    public int sqDropped() {
        return (int) INT.getAcquire(sqRing, sqDroppedOffset);
    }

    /** {@return the kernel's IORING_SQ_* flags (e.g. CQ overflow, task work pending)} */
    public int sqFlags() {
        return (int) INT.getAcquire(sqRing, sqFlagsOffset);
    }

    // ---- registration --------------------------------------------------------------------------

    /**
     * {@code io_uring_register(fd, opcode, arg, nrArgs)} on this ring.
     *
     * @param opcode an {@code IORING_REGISTER_*} opcode
     * @param arg    its argument
     * @param nrArgs the number of entries in {@code arg}
     * @return the result, or {@code -errno}
     */
    public int register(int opcode, MemorySegment arg, int nrArgs) {
        return LibC.ioUringRegister(fd, opcode, arg, nrArgs);
    }

    /** {@return the ring's file descriptor} */
    public int fd() {
        return fd;
    }

    /** {@return the IORING_FEAT_* bits this kernel reported} */
    public int features() {
        return features;
    }

    /**
     * Whether the kernel reported {@code feature}.
     *
     * @param feature one or more IORING_FEAT_* bits
     * @return true when all of them were reported
     */
    public boolean hasFeature(int feature) {
        return (features & feature) == feature;
    }

    /** {@return the IORING_SETUP_* flags the ring was created with} */
    public int setupFlags() {
        return setupFlags;
    }

    /** {@return the SQ size} */
    public int sqEntries() {
        return sqEntries;
    }

    /** {@return the CQ size} */
    public int cqEntries() {
        return cqEntries;
    }

    /** Unmaps the rings and closes the ring's descriptor. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        arena.close(); // first: the mapped views die before the memory is unmapped
        LibC.munmap(sqesAddress, sqesSize);
        if (cqRingAddress != sqRingAddress) {
            LibC.munmap(cqRingAddress, cqRingSize);
        }
        LibC.munmap(sqRingAddress, sqRingSize);
        LibC.close(fd);
    }

    /** {@return true when this process may create io_uring instances (false: ENOSYS, EPERM, sysctl disabled)} */
    public static boolean isAvailable() {
        try (IoUring ring = setup(2, 0)) {
            return ring.fd >= 0;
        } catch (NativeException e) {
            return false;
        }
    }
}
