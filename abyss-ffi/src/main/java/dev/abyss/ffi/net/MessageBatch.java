package dev.abyss.ffi.net;

import dev.abyss.ffi.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A reusable native batch for {@code recvmmsg}/{@code sendmmsg}: {@code capacity} entries of
 * {@code struct mmsghdr}, each with one {@code iovec} over its own data slot, a
 * {@code sockaddr_storage} for the peer and optional control-message space.
 *
 * <p>Everything is allocated once from the owner's {@link Arena} and wired together (pointers set)
 * at construction; per call only lengths are reset, so a receive or send loop allocates nothing.
 * The batch lives exactly as long as that arena. Not thread-safe: one owner thread.
 */
public final class MessageBatch {
    private static final long MMSG_SIZE = MsgLayouts.MMSGHDR.byteSize();
    private static final long IOV_SIZE = MsgLayouts.IOVEC.byteSize();
    private static final long NAME_SIZE = SockAddr.STORAGE_SIZE;

    private final int capacity;
    private final int slotSize;
    private final int controlSize;
    private final MemorySegment msgvec;
    private final MemorySegment iovecs;
    private final MemorySegment names;
    private final MemorySegment controls;
    private final MemorySegment data;

    /**
     * A batch of {@code capacity} entries, each with a data slot, a name slot and control space, in
     * {@code arena}'s memory, prepared to receive.
     *
     * @param arena       owns the native memory; the batch is unusable once it is closed
     * @param capacity    entries per call (recvmmsg/sendmmsg {@code vlen})
     * @param slotSize    bytes per datagram slot
     * @param controlSize bytes of control-message space per entry (0 for none)
     */
    public MessageBatch(Arena arena, int capacity, int slotSize, int controlSize) {
        if (capacity < 1 || slotSize < 0 || controlSize < 0) {
            throw new IllegalArgumentException("capacity " + capacity + ", slotSize " + slotSize + ", controlSize " + controlSize);
        }
        this.capacity = capacity;
        this.slotSize = slotSize;
        this.controlSize = (int) MsgLayouts.cmsgAlign(controlSize);
        msgvec = arena.allocate(MMSG_SIZE * capacity, 8);
        iovecs = arena.allocate(IOV_SIZE * capacity, 8);
        names = arena.allocate(NAME_SIZE * capacity, 8);
        controls = this.controlSize == 0 ? MemorySegment.NULL : arena.allocate((long) this.controlSize * capacity, 8);
        data = arena.allocate((long) slotSize * capacity, 64);
        for (int i = 0; i < capacity; i++) {
            long iov = IOV_SIZE * i;
            iovecs.set(ADDRESS, iov + MsgLayouts.IOV_BASE, data.asSlice((long) slotSize * i, slotSize));
            iovecs.set(JAVA_LONG, iov + MsgLayouts.IOV_LEN, slotSize);
            long m = MMSG_SIZE * i;
            msgvec.set(ADDRESS, m + MsgLayouts.MSG_NAME, names.asSlice(NAME_SIZE * i, NAME_SIZE));
            msgvec.set(ADDRESS, m + MsgLayouts.MSG_IOV, iovecs.asSlice(iov, IOV_SIZE));
            msgvec.set(JAVA_LONG, m + MsgLayouts.MSG_IOVLEN, 1);
            msgvec.set(ADDRESS, m + MsgLayouts.MSG_CONTROL,
                    this.controlSize == 0 ? MemorySegment.NULL : controls.asSlice((long) this.controlSize * i, this.controlSize));
        }
        prepareReceive(capacity);
    }

    /**
     * Resets the first {@code count} entries to receive: full slot, full name and control space.
     *
     * @param count entries to reset
     */
    public void prepareReceive(int count) {
        for (int i = 0; i < count; i++) {
            long m = MMSG_SIZE * i;
            msgvec.set(JAVA_INT, m + MsgLayouts.MSG_NAMELEN, (int) NAME_SIZE);
            msgvec.set(JAVA_LONG, m + MsgLayouts.MSG_CONTROLLEN, controlSize);
            msgvec.set(JAVA_INT, m + MsgLayouts.MSG_FLAGS, 0);
            msgvec.set(JAVA_INT, m + MsgLayouts.MMSG_LEN, 0);
            iovecs.set(JAVA_LONG, IOV_SIZE * i + MsgLayouts.IOV_LEN, slotSize);
        }
    }

    /**
     * {@code recvmmsg} into the first {@code count} entries.
     *
     * @param fd    the socket
     * @param count entries to fill, at most {@link #capacity()}
     * @param flags e.g. {@link Net#MSG_DONTWAIT}
     * @return the count received, or {@code -errno}
     */
    public int receive(int fd, int count, int flags) {
        prepareReceive(count);
        return LibC.recvmmsg(fd, msgvec, count, flags, MemorySegment.NULL);
    }

    /**
     * Prepares entry {@code i} to send {@code length} bytes of its data slot to the address in its
     * name slot.
     *
     * @param i          the entry
     * @param length     bytes of its data slot to send
     * @param nameLength bytes of the address in its name slot; 0 for a connected socket
     */
    public void prepareSend(int i, int length, int nameLength) {
        prepareSend(i, length, nameLength, 0);
    }

    /**
     * {@link #prepareSend(int, int, int)} with {@code controlLength} bytes of control messages
     * already written in entry {@code i}'s control slot ({@link #controlOffset(int)}), e.g. the
     * source address of a reply (IP_PKTINFO).
     *
     * @param i             the entry
     * @param length        bytes of its data slot to send
     * @param nameLength    bytes of the address in its name slot; 0 for a connected socket
     * @param controlLength bytes of control messages in its control slot; 0 for none
     */
    public void prepareSend(int i, int length, int nameLength, int controlLength) {
        long m = MMSG_SIZE * i;
        msgvec.set(JAVA_INT, m + MsgLayouts.MSG_NAMELEN, nameLength);
        msgvec.set(JAVA_LONG, m + MsgLayouts.MSG_CONTROLLEN, controlLength);
        msgvec.set(JAVA_INT, m + MsgLayouts.MSG_FLAGS, 0);
        iovecs.set(JAVA_LONG, IOV_SIZE * i + MsgLayouts.IOV_LEN, length);
    }

    /**
     * {@code sendmmsg} of entries {@code from .. from+count-1} (each set up with {@link #prepareSend}).
     *
     * @param fd    the socket
     * @param from  the first entry
     * @param count entries to send
     * @param flags e.g. {@link Net#MSG_DONTWAIT}
     * @return how many were sent (possibly fewer), or {@code -errno}
     */
    public int send(int fd, int from, int count, int flags) {
        return LibC.sendmmsg(fd, msgvec, MMSG_SIZE * from, count, flags);
    }

    /** {@return the number of entries} */
    public int capacity() {
        return capacity;
    }

    /** {@return bytes per data slot} */
    public int slotSize() {
        return slotSize;
    }

    /** {@return the whole {@code mmsghdr} array, for callers that drive the syscall themselves (io_uring)} */
    public MemorySegment msgvec() {
        return msgvec;
    }

    /**
     * Address of entry {@code i}'s {@code struct msghdr}.
     *
     * @param i the entry
     * @return its native address
     */
    public long msghdrAddress(int i) {
        return msgvec.address() + MMSG_SIZE * i;
    }

    /**
     * Bytes received into entry {@code i} ({@code msg_len}); may exceed {@link #slotSize()} when truncated.
     *
     * @param i the entry
     * @return its {@code msg_len}
     */
    public int length(int i) {
        return msgvec.get(JAVA_INT, MMSG_SIZE * i + MsgLayouts.MMSG_LEN);
    }

    /**
     * The data length entry {@code i} was set up with ({@code iov_len}): what it will send.
     *
     * @param i the entry
     * @return its {@code iov_len}
     */
    public int iovLength(int i) {
        return (int) iovecs.get(JAVA_LONG, IOV_SIZE * i + MsgLayouts.IOV_LEN);
    }

    /**
     * {@code msg_flags} of entry {@code i} after a receive (e.g. {@link Net#MSG_TRUNC}).
     *
     * @param i the entry
     * @return its flags
     */
    public int flags(int i) {
        return msgvec.get(JAVA_INT, MMSG_SIZE * i + MsgLayouts.MSG_FLAGS);
    }

    /**
     * Whether entry {@code i}'s datagram was longer than its slot ({@link Net#MSG_TRUNC}).
     *
     * @param i the entry
     * @return true when truncated
     */
    public boolean truncated(int i) {
        return (flags(i) & Net.MSG_TRUNC) != 0;
    }

    /**
     * Length of the peer address the kernel wrote into entry {@code i}'s name slot.
     *
     * @param i the entry
     * @return its {@code msg_namelen}
     */
    public int nameLength(int i) {
        return msgvec.get(JAVA_INT, MMSG_SIZE * i + MsgLayouts.MSG_NAMELEN);
    }

    /** {@return the whole name-slot region; entry {@code i}'s slot starts at {@link #nameOffset(int)}} */
    public MemorySegment names() {
        return names;
    }

    /**
     * Offset of entry {@code i}'s name slot in {@link #names()}.
     *
     * @param i the entry
     * @return the offset
     */
    public long nameOffset(int i) {
        return NAME_SIZE * i;
    }

    /** {@return the whole data region; entry {@code i}'s slot starts at {@link #dataOffset(int)}} */
    public MemorySegment data() {
        return data;
    }

    /**
     * Offset of entry {@code i}'s data slot in {@link #data()}.
     *
     * @param i the entry
     * @return the offset
     */
    public long dataOffset(int i) {
        return (long) slotSize * i;
    }

    /**
     * Bytes of control messages the kernel wrote into entry {@code i} after a receive
     * ({@code msg_controllen}); 0 when it wrote none. Read them in {@link #controls()} at
     * {@link #controlOffset(int)}.
     *
     * @param i the entry
     * @return its {@code msg_controllen}
     */
    public int controlLength(int i) {
        return (int) msgvec.get(JAVA_LONG, MMSG_SIZE * i + MsgLayouts.MSG_CONTROLLEN);
    }

    /** {@return the whole control region ({@link MemorySegment#NULL} without control space); entry {@code i}'s at {@link #controlOffset(int)}} */
    public MemorySegment controls() {
        return controls;
    }

    /**
     * Offset of entry {@code i}'s control space in {@link #controls()}.
     *
     * @param i the entry
     * @return the offset
     */
    public long controlOffset(int i) {
        return (long) controlSize * i;
    }

    /** {@return control-message space per entry ({@code CMSG_ALIGN} of what was asked)} */
    public int controlSize() {
        return controlSize;
    }

    /**
     * Entry {@code i}'s control bytes as received ({@code msg_controllen} of them).
     *
     * @param i the entry
     * @return a slice of {@link #controls()}, or {@link MemorySegment#NULL} without control space
     */
    public MemorySegment control(int i) {
        long len = msgvec.get(JAVA_LONG, MMSG_SIZE * i + MsgLayouts.MSG_CONTROLLEN);
        return controlSize == 0 ? MemorySegment.NULL : controls.asSlice((long) controlSize * i, len);
    }
}
