package dev.abyss.ffi.xdp;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * An AF_XDP socket bound to one RX queue of an interface, with a UMEM of its own (anonymous memory
 * cut into equal frames), its four rings mapped, and free lists of the frames user space holds.
 *
 * <p>The UMEM is cut in two: receive frames (the first {@code fill.size()}, or three quarters of the
 * frames if fewer) and send frames (the rest). Receive frames move: receive free list → fill ring →
 * (kernel receives) → RX ring → user space → receive free list; send frames: send free list → TX
 * ring → (kernel sends) → completion ring → send free list. The split keeps the set of frames that
 * receive fixed and small, so whatever user space keeps per receive frame (a view of its payload) is
 * made once per frame and then reused: a frame's identity says which list it goes back to. Not
 * thread-safe: one thread owns the socket.
 */
public final class XskSocket implements AutoCloseable {
    /** The mode asked for at open. */
    public enum CopyMode {
        /** Zero-copy where the driver has it, else copy. */
        AUTO,
        /** Copy mode only (every driver, and generic XDP). */
        COPY,
        /** Zero-copy only: open fails where the driver has none. */
        ZERO_COPY
    }

    private final int fd;
    private final Arena arena;
    private final MemorySegment umem;
    private final long umemAddress;
    private final long umemLength;
    private final int frameSize;
    private final long[] maps = new long[8]; // address, length pairs of the four ring mappings
    private final boolean zeroCopy;
    /** The fill ring: frames given to the kernel to receive into. */
    public final XskRing fill;
    /** The completion ring: frames the kernel has sent. */
    public final XskRing completion;
    /** The RX ring: frames received. */
    public final XskRing rx;
    /** The TX ring: frames to send. */
    public final XskRing tx;
    /** Free send frames (a stack). */
    private final long[] free;
    private int freeCount;
    /** Free receive frames (a stack): frames below {@link #receiveLimit}. */
    private final long[] receiveFree;
    private int receiveFreeCount;
    /** UMEM offset where the send frames start. */
    private final long receiveLimit;
    private final MemorySegment pollFd;
    private final MemorySegment stats;
    private final MemorySegment statsLen;
    private boolean closed;

    private XskSocket(int fd, Arena arena, MemorySegment umem, long umemLength, int frameSize, long[] maps,
                      boolean zeroCopy, XskRing fill, XskRing completion, XskRing rx, XskRing tx) {
        this.fd = fd;
        this.arena = arena;
        this.umem = umem;
        this.umemAddress = umem.address();
        this.umemLength = umemLength;
        this.frameSize = frameSize;
        System.arraycopy(maps, 0, this.maps, 0, 8);
        this.zeroCopy = zeroCopy;
        this.fill = fill;
        this.completion = completion;
        this.rx = rx;
        this.tx = tx;
        int frames = (int) (umemLength / frameSize);
        int receiving = Math.min(fill.size(), frames - Math.max(1, frames / 4));
        this.receiveLimit = (long) receiving * frameSize;
        this.receiveFree = new long[receiving];
        for (int i = receiving - 1; i >= 0; i--) {
            receiveFree[receiveFreeCount++] = (long) i * frameSize;
        }
        this.free = new long[frames - receiving];
        for (int i = frames - 1; i >= receiving; i--) {
            free[freeCount++] = (long) i * frameSize;
        }
        this.pollFd = arena.allocate(Xsk.POLLFD);
        pollFd.set(JAVA_INT, 0, fd);
        this.stats = arena.allocate(Xsk.XDP_STATISTICS_LAYOUT);
        this.statsLen = arena.allocate(JAVA_INT);
    }

    /**
     * Opens a socket on queue {@code queue} of interface {@code ifindex}, with a UMEM of
     * {@code frames} frames of {@code frameSize} bytes and rings of {@code ringSize} entries, and puts
     * half the frames (at most the fill ring's size) on the fill ring.
     *
     * @param ifindex   the interface
     * @param queue     its RX queue
     * @param frames    UMEM frames (at least 2 × ringSize is sensible)
     * @param frameSize 2048 or 4096
     * @param ringSize  entries of each ring, a power of two
     * @param mode      zero-copy, copy, or zero-copy where possible
     * @return the bound socket
     * @throws NativeException EAFNOSUPPORT without AF_XDP, EPERM without CAP_NET_RAW/CAP_NET_ADMIN,
     *                         EOPNOTSUPP for ZERO_COPY where the driver has none
     */
    public static XskSocket open(int ifindex, int queue, int frames, int frameSize, int ringSize, CopyMode mode)
            throws NativeException {
        if (mode == CopyMode.COPY) {
            return openOnce(ifindex, queue, frames, frameSize, ringSize, Xsk.XDP_COPY);
        }
        try {
            return openOnce(ifindex, queue, frames, frameSize, ringSize, Xsk.XDP_ZEROCOPY);
        } catch (NativeException e) {
            if (mode == CopyMode.ZERO_COPY || !e.call().startsWith("bind")) {
                throw e;
            }
            // the driver has no zero-copy for this queue: the whole socket again, in copy mode
            return openOnce(ifindex, queue, frames, frameSize, ringSize, Xsk.XDP_COPY);
        }
    }

    private static XskSocket openOnce(int ifindex, int queue, int frames, int frameSize, int ringSize, int copyFlag)
            throws NativeException {
        int fd = LibC.check(LibC.socket(Xsk.AF_XDP, Xsk.SOCK_RAW | Net.SOCK_CLOEXEC, 0), "socket(AF_XDP)");
        Arena arena = Arena.ofShared();
        long umemLength = (long) frames * frameSize;
        long umemAddr = -1;
        long[] maps = new long[8];
        try {
            umemAddr = LibC.check(LibC.mmap(0, umemLength, Net.PROT_READ | Net.PROT_WRITE,
                    Net.MAP_PRIVATE | Net.MAP_ANONYMOUS | Net.MAP_POPULATE, -1, 0), "mmap(UMEM, " + umemLength + " B)");
            MemorySegment umem = MemorySegment.ofAddress(umemAddr).reinterpret(umemLength);
            try (Arena call = Arena.ofConfined()) {
                MemorySegment reg = call.allocate(Xsk.XDP_UMEM_REG_LAYOUT);
                reg.set(JAVA_LONG, Xsk.XDP_UMEM_REG_LAYOUT.byteOffset(groupElement("addr")), umemAddr);
                reg.set(JAVA_LONG, Xsk.XDP_UMEM_REG_LAYOUT.byteOffset(groupElement("len")), umemLength);
                reg.set(JAVA_INT, Xsk.XDP_UMEM_REG_LAYOUT.byteOffset(groupElement("chunk_size")), frameSize);
                LibC.check(LibC.setsockopt(fd, Xsk.SOL_XDP, Xsk.XDP_UMEM_REG, reg, (int) reg.byteSize()),
                        "setsockopt(XDP_UMEM_REG, " + frames + " x " + frameSize + " B)");
                MemorySegment n = call.allocate(JAVA_INT);
                n.set(JAVA_INT, 0, ringSize);
                for (int opt : new int[]{Xsk.XDP_UMEM_FILL_RING, Xsk.XDP_UMEM_COMPLETION_RING, Xsk.XDP_RX_RING, Xsk.XDP_TX_RING}) {
                    LibC.check(LibC.setsockopt(fd, Xsk.SOL_XDP, opt, n, 4), "setsockopt(SOL_XDP, " + opt + ", " + ringSize + ")");
                }
                MemorySegment off = call.allocate(Xsk.XDP_MMAP_OFFSETS_LAYOUT);
                MemorySegment offLen = call.allocate(JAVA_INT);
                offLen.set(JAVA_INT, 0, (int) off.byteSize());
                LibC.check(LibC.getsockopt(fd, Xsk.SOL_XDP, Xsk.XDP_MMAP_OFFSETS, off, offLen), "getsockopt(XDP_MMAP_OFFSETS)");
                XskRing fill = ring(fd, off, "fr", Xsk.XDP_UMEM_PGOFF_FILL_RING, ringSize, 8, maps, 0);
                XskRing comp = ring(fd, off, "cr", Xsk.XDP_UMEM_PGOFF_COMPLETION_RING, ringSize, 8, maps, 2);
                XskRing rx = ring(fd, off, "rx", Xsk.XDP_PGOFF_RX_RING, ringSize, (int) Xsk.XDP_DESC.byteSize(), maps, 4);
                XskRing tx = ring(fd, off, "tx", Xsk.XDP_PGOFF_TX_RING, ringSize, (int) Xsk.XDP_DESC.byteSize(), maps, 6);

                MemorySegment sa = call.allocate(Xsk.SOCKADDR_XDP);
                sa.set(JAVA_SHORT, Xsk.SOCKADDR_XDP.byteOffset(groupElement("sxdp_family")), (short) Xsk.AF_XDP);
                sa.set(JAVA_SHORT, Xsk.SOCKADDR_XDP.byteOffset(groupElement("sxdp_flags")),
                        (short) (Xsk.XDP_USE_NEED_WAKEUP | copyFlag));
                sa.set(JAVA_INT, Xsk.SOCKADDR_XDP.byteOffset(groupElement("sxdp_ifindex")), ifindex);
                sa.set(JAVA_INT, Xsk.SOCKADDR_XDP.byteOffset(groupElement("sxdp_queue_id")), queue);
                LibC.check(LibC.bind(fd, sa, (int) sa.byteSize()), "bind(AF_XDP, ifindex " + ifindex + " queue " + queue
                        + (copyFlag == Xsk.XDP_ZEROCOPY ? ", zero-copy" : ", copy") + ")");
                XskSocket s = new XskSocket(fd, arena, umem, umemLength, frameSize, maps,
                        copyFlag == Xsk.XDP_ZEROCOPY, fill, comp, rx, tx);
                s.refill();
                return s;
            }
        } catch (NativeException | RuntimeException e) {
            for (int i = 0; i < 8; i += 2) {
                if (maps[i] != 0) {
                    LibC.munmap(maps[i], maps[i + 1]);
                }
            }
            if (umemAddr > 0) {
                LibC.munmap(umemAddr, umemLength);
            }
            LibC.close(fd);
            arena.close();
            throw e;
        }
    }

    private static XskRing ring(int fd, MemorySegment off, String which, long pgoff, int size, int entryBytes,
                                long[] maps, int slot) throws NativeException {
        long base = Xsk.XDP_MMAP_OFFSETS_LAYOUT.byteOffset(groupElement(which));
        long producer = off.get(JAVA_LONG, base + Xsk.XDP_RING_OFFSET.byteOffset(groupElement("producer")));
        long consumer = off.get(JAVA_LONG, base + Xsk.XDP_RING_OFFSET.byteOffset(groupElement("consumer")));
        long desc = off.get(JAVA_LONG, base + Xsk.XDP_RING_OFFSET.byteOffset(groupElement("desc")));
        long flags = off.get(JAVA_LONG, base + Xsk.XDP_RING_OFFSET.byteOffset(groupElement("flags")));
        long length = desc + (long) size * entryBytes;
        long addr = LibC.check(LibC.mmap(0, length, Net.PROT_READ | Net.PROT_WRITE, Net.MAP_SHARED | Net.MAP_POPULATE,
                fd, pgoff), "mmap(AF_XDP " + which + " ring)");
        maps[slot] = addr;
        maps[slot + 1] = length;
        return new XskRing(MemorySegment.ofAddress(addr).reinterpret(length), producer, consumer, flags, desc, size, entryBytes);
    }

    /**
     * {@return the socket's file descriptor (the value an XSKMAP holds)}
     */
    public int fd() {
        return fd;
    }

    /**
     * {@return whether the socket runs zero-copy (else copy mode)}
     */
    public boolean zeroCopy() {
        return zeroCopy;
    }

    /**
     * {@return the UMEM: frame {@code addr} is at offset {@code addr}}
     */
    public MemorySegment umem() {
        return umem;
    }

    /**
     * {@return the size of a frame}
     */
    public int frameSize() {
        return frameSize;
    }

    /**
     * {@return the send frames user space holds free (neither in a ring nor in use)}
     */
    public int freeFrames() {
        return freeCount;
    }

    /**
     * Takes a free frame, for a send.
     *
     * @return its UMEM address, or -1 when none is free
     */
    public long takeFrame() {
        return freeCount == 0 ? -1 : free[--freeCount];
    }

    /**
     * Returns a frame to its free list (receive or send, by where it lies in the UMEM).
     *
     * @param addr a frame's UMEM address (any offset within it)
     */
    public void giveFrame(long addr) {
        long frame = addr - addr % frameSize;
        if (frame < receiveLimit) {
            receiveFree[receiveFreeCount++] = frame;
        } else {
            free[freeCount++] = frame;
        }
    }

    /**
     * {@return the receive frames: frame addresses below {@code receiveFrames() * frameSize()}}
     */
    public int receiveFrames() {
        return receiveFree.length;
    }

    /**
     * Moves free receive frames to the fill ring; collects the completion ring first.
     *
     * @return frames added to the fill ring
     */
    public int refill() {
        collectCompleted();
        int n = fill.freeSlots(receiveFreeCount);
        for (int i = 0; i < n; i++) {
            fill.address(fill.producerEntry(i), receiveFree[--receiveFreeCount]);
        }
        if (n > 0) {
            fill.submit(n);
        }
        return n;
    }

    /**
     * Frames the kernel has sent go back to the free list.
     *
     * @return frames collected
     */
    public int collectCompleted() {
        int n = completion.available(completion.size());
        for (int i = 0; i < n; i++) {
            giveFrame(completion.address(completion.consumerEntry(i)));
        }
        if (n > 0) {
            completion.release(n);
        }
        return n;
    }

    /**
     * Wakes the kernel's transmit path when it asked to be woken ({@code sendto} with nothing), again
     * while each call moves the TX ring on: in copy mode a call sends at most the kernel's TX budget
     * (32 frames) and says EAGAIN for the rest, so one call per batch would leave frames on the ring
     * until the free frames run out. A call that moves nothing (the device is busy; or zero-copy,
     * where the driver sends later) ends the loop: the next kick tries again.
     *
     * <p>The kicks capture no errno (nothing allocated per flush); only a failed kick that moved
     * nothing is asked again with errno captured, to say why.
     *
     * @return 0, or {@code -errno} of the last call (EAGAIN, EBUSY, ENOBUFS: try again later)
     */
    public long kickTx() {
        int pending = tx.pending();
        while (pending > 0 && tx.needsWakeup()) {
            long result = LibC.kick(fd, Net.MSG_DONTWAIT);
            int left = tx.pending();
            if (left >= pending) {
                return result == 0 ? 0 : LibC.sendto(fd, MemorySegment.NULL, 0, Net.MSG_DONTWAIT, MemorySegment.NULL, 0);
            }
            pending = left;
        }
        return 0;
    }

    /**
     * Waits up to {@code timeoutMillis} for received frames (and wakes the kernel's fill path, which
     * a poll does when the fill ring asks for it).
     *
     * @param timeoutMillis 0 not to wait
     * @return the poll's result, or {@code -errno}
     */
    public int pollRx(int timeoutMillis) {
        pollFd.set(JAVA_SHORT, 4, (short) Xsk.POLLIN);
        pollFd.set(JAVA_SHORT, 6, (short) 0);
        return LibC.poll(pollFd, 1, timeoutMillis);
    }

    /**
     * The socket's drop counters ({@code XDP_STATISTICS}), in the order of {@code struct xdp_statistics}:
     * rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full, rx_fill_ring_empty_descs,
     * tx_ring_empty_descs.
     *
     * <p>Read on the acceptor's thread every few hundred turns, so the call captures no errno (nothing
     * allocated); a refusal only leaves {@code into} as it was.
     *
     * @param into receives the six values
     * @return whether the kernel gave them
     */
    public boolean statistics(long[] into) {
        statsLen.set(JAVA_INT, 0, (int) stats.byteSize());
        if (LibC.getsockoptQuiet(fd, Xsk.SOL_XDP, Xsk.XDP_STATISTICS, stats, statsLen) != 0) {
            return false;
        }
        for (int i = 0; i < 6 && i < into.length; i++) {
            into[i] = stats.get(JAVA_LONG, i * 8L);
        }
        return true;
    }

    /** Unmaps the rings and the UMEM and closes the socket (the kernel drops it from any XSKMAP). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LibC.close(fd);
        for (int i = 0; i < 8; i += 2) {
            LibC.munmap(maps[i], maps[i + 1]);
        }
        LibC.munmap(umemAddress, umemLength);
        arena.close();
    }
}
