package dev.abyss.server.transport.uring;

import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.server.transport.SendControl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The memory of the io_uring transport's sends: a fixed set of send slots (each a msghdr, its one
 * iovec, the peer's address and room for the send's control messages: what an
 * {@code IORING_OP_SENDMSG} SQE points at until it completes) and a data ring holding the datagrams'
 * bytes. A slot is claimed per send ({@link #claim}) and released when its completion has been
 * handled ({@link #release}).
 *
 * <p>The data ring is a byte FIFO: each send takes the bytes after the previous one's (8-byte
 * aligned; a datagram never straddles the ring's end, the tail skips to the front instead), and
 * bytes are freed in submission order. Completions may come out of order, so a released slot
 * frees its bytes (and itself) only once every slot claimed before it is released too; until then
 * it waits, done, in the order FIFO. With nothing in flight the ring starts again at the front.
 * The last claimed slot can grow while its SQE is not submitted ({@link #extend}: a GSO send that
 * another datagram joins), since its bytes are the last taken.
 *
 * <p>Offsets into the ring grow without wrapping ({@code long}); a position is taken modulo the
 * ring's size. Allocation-free after construction; owner thread only.
 */
final class SendSlots {
    private static final int NAME_SPACE = SockAddr.STORAGE_SIZE;
    private static final long MSGHDR_SIZE = MsgLayouts.MSGHDR.byteSize();
    private static final long IOVEC_SIZE = MsgLayouts.IOVEC.byteSize();
    /** Where a slot's iovec, peer address and control messages start, from the slot's msghdr. */
    private static final long IOV = MSGHDR_SIZE;
    private static final long NAME = IOV + IOVEC_SIZE;
    private static final long CONTROL = NAME + NAME_SPACE;
    /** A slot: msghdr, iovec, peer address, control messages; 8-byte aligned. */
    static final long SLOT_SIZE = (CONTROL + SendControl.SPACE + 7) & ~7L;

    private final MemorySegment slots;
    private final MemorySegment data;
    private final long dataSize;
    /** Each slot's msghdr, for a send tried again at once with sendmsg or split by the GSO fallback. */
    private final MemorySegment[] headers;
    private final int[] free; // a stack of free slot ids
    private int freeCount;
    private final int[] order; // claimed slot ids in claim (= submission) order, a ring
    private int orderHead;
    private int orderCount;
    /** Where each slot's bytes end in the data ring: the ring's head once it is freed. */
    private final long[] dataEnd;
    private final boolean[] done;
    private final Object[] tags;
    /** Datagrams in each slot's send (more than one: a GSO send), and their segment size. */
    private final int[] segments;
    private final int[] segmentSize;
    private long dataHead; // the oldest byte still in flight
    private long dataTail; // where the next datagram's bytes go

    /**
     * @param arena    where the slots and the data ring live
     * @param count    send slots: sends in flight at most
     * @param dataSize bytes in the data ring
     */
    SendSlots(Arena arena, int count, long dataSize) {
        this.slots = arena.allocate(SLOT_SIZE * count, 8);
        this.dataSize = dataSize;
        this.data = arena.allocate(dataSize, 64);
        this.headers = new MemorySegment[count];
        this.free = new int[count];
        this.order = new int[count];
        this.dataEnd = new long[count];
        this.done = new boolean[count];
        this.tags = new Object[count];
        this.segments = new int[count];
        this.segmentSize = new int[count];
        for (int i = 0; i < count; i++) {
            long base = SLOT_SIZE * i;
            slots.set(ADDRESS, base + MsgLayouts.MSG_NAME, slots.asSlice(base + NAME, NAME_SPACE));
            slots.set(ADDRESS, base + MsgLayouts.MSG_IOV, slots.asSlice(base + IOV, IOVEC_SIZE));
            slots.set(JAVA_LONG, base + MsgLayouts.MSG_IOVLEN, 1);
            slots.set(ADDRESS, base + MsgLayouts.MSG_CONTROL, slots.asSlice(base + CONTROL, SendControl.SPACE));
            headers[i] = slots.asSlice(base, MSGHDR_SIZE);
            free[freeCount++] = count - 1 - i; // slot 0 on top
        }
    }

    /** {@return free slots} */
    int free() {
        return freeCount;
    }

    /** {@return true when nothing is in flight: every claimed slot released} */
    boolean idle() {
        return orderCount == 0;
    }

    /** {@return true when a slot is free and the data ring has room for {@code length} more bytes} */
    boolean fits(int length) {
        if (freeCount == 0) {
            return false;
        }
        long span = span(length);
        long at = dataTail % dataSize;
        long pad = at + span > dataSize ? dataSize - at : 0; // a datagram never straddles the end
        return (dataTail - dataHead) + pad + span <= dataSize;
    }

    /**
     * Claims a slot for a send of {@code length} bytes tagged {@code tag}: its data range is taken
     * from the ring and its iovec points at it (the caller copies the bytes to {@link #dataOffset}).
     * Only when {@link #fits} said so. Returns the slot.
     */
    int claim(Object tag, int length) {
        long span = span(length);
        long at = dataTail % dataSize;
        if (at + span > dataSize) {
            dataTail += dataSize - at; // skip to the front
            at = 0;
        }
        dataTail += span;
        int slot = free[--freeCount];
        order[(orderHead + orderCount++) % order.length] = slot;
        dataEnd[slot] = dataTail;
        done[slot] = false;
        tags[slot] = tag;
        segments[slot] = 1;
        long iov = SLOT_SIZE * slot + IOV;
        slots.set(JAVA_LONG, iov + MsgLayouts.IOV_BASE, data.address() + at);
        slots.set(JAVA_LONG, iov + MsgLayouts.IOV_LEN, length);
        return slot;
    }

    /**
     * Grows the last claimed slot's send by {@code length} bytes (a datagram joining its GSO send
     * before submission); returns where the new bytes go in {@link #data()}, or -1 when they do not
     * fit before the ring's end or its head.
     */
    long extend(int slot, int length) {
        long at = dataOffset(slot);
        int total = length(slot);
        long oldSpan = span(total);
        long newSpan = span(total + length);
        if (at + newSpan > dataSize || (dataTail - dataHead) - oldSpan + newSpan > dataSize) {
            return -1;
        }
        dataTail += newSpan - oldSpan;
        dataEnd[slot] = dataTail;
        slots.set(JAVA_LONG, SLOT_SIZE * slot + IOV + MsgLayouts.IOV_LEN, total + length);
        return at + total;
    }

    /**
     * The slot's completion was handled: frees it and its bytes, with every done slot claimed
     * before it, in claim order (a slot released early waits for those before it).
     */
    void release(int slot) {
        tags[slot] = null;
        done[slot] = true;
        while (orderCount > 0 && done[order[orderHead]]) {
            int s = order[orderHead];
            orderHead = (orderHead + 1) % order.length;
            orderCount--;
            dataHead = dataEnd[s];
            free[freeCount++] = s;
        }
        if (orderCount == 0) {
            dataHead = dataTail = 0; // nothing in flight: start again at the front
        }
    }

    /** Sets the slot's peer address. */
    void name(int slot, PeerKey to) {
        long base = SLOT_SIZE * slot;
        slots.set(JAVA_INT, base + MsgLayouts.MSG_NAMELEN, to.writeTo(slots, base + NAME));
    }

    /** {@return the slot's control messages' length} */
    long controlLength(int slot) {
        return slots.get(JAVA_LONG, SLOT_SIZE * slot + MsgLayouts.MSG_CONTROLLEN);
    }

    void controlLength(int slot, long length) {
        slots.set(JAVA_LONG, SLOT_SIZE * slot + MsgLayouts.MSG_CONTROLLEN, length);
    }

    /** {@return the memory of every slot: {@link #controlOffset} and {@link #nameOffset} are into it} */
    MemorySegment memory() {
        return slots;
    }

    /** {@return where the slot's control messages go in {@link #memory()}} */
    long controlOffset(int slot) {
        return SLOT_SIZE * slot + CONTROL;
    }

    /** {@return where the slot's peer address is in {@link #memory()}} */
    long nameOffset(int slot) {
        return SLOT_SIZE * slot + NAME;
    }

    /** {@return the native address of the slot's msghdr: what its SENDMSG SQE points at} */
    long msghdrAddress(int slot) {
        return slots.address() + SLOT_SIZE * slot;
    }

    /** {@return the slot's msghdr} */
    MemorySegment header(int slot) {
        return headers[slot];
    }

    /** {@return the data ring: the slots' bytes} */
    MemorySegment data() {
        return data;
    }

    /** {@return where the slot's bytes start in {@link #data()}} */
    long dataOffset(int slot) {
        return slots.get(JAVA_LONG, SLOT_SIZE * slot + IOV + MsgLayouts.IOV_BASE) - data.address();
    }

    /** {@return the slot's bytes: one datagram, or a GSO send's} */
    int length(int slot) {
        return (int) slots.get(JAVA_LONG, SLOT_SIZE * slot + IOV + MsgLayouts.IOV_LEN);
    }

    Object tag(int slot) {
        return tags[slot];
    }

    /** {@return the datagrams in the slot's send: more than one for a GSO send} */
    int segments(int slot) {
        return segments[slot];
    }

    /** {@return the segment size of the slot's GSO send} */
    int segmentSize(int slot) {
        return segmentSize[slot];
    }

    /** The slot's send became a GSO send of {@code count} datagrams of {@code size} bytes (the last may be shorter). */
    void segments(int slot, int count, int size) {
        segments[slot] = count;
        segmentSize[slot] = size;
    }

    private static long span(long length) {
        return (length + 7) & ~7L;
    }
}
