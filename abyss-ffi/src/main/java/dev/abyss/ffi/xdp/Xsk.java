package dev.abyss.ffi.xdp;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * AF_XDP ({@code <linux/if_xdp.h>}): the socket family, its socket options, the structs the kernel
 * reads and writes, and two questions about an interface (its index, its RX queues).
 */
public final class Xsk {
    private Xsk() {
    }

    /** ENODEV (19): no such device, what if_nametoindex leaves in errno for an unknown name. */
    private static final int ENODEV = 19;

    /** {@code AF_XDP}: the address family of XDP sockets. */
    public static final int AF_XDP = 44;
    /** {@code SOCK_RAW}: the socket type of XDP sockets. */
    public static final int SOCK_RAW = 3;
    /** {@code SOL_XDP}: the socket option level of XDP sockets. */
    public static final int SOL_XDP = 283;
    /** {@code XDP_SHARED_UMEM}: bind flag: share the UMEM of another socket. */
    public static final int XDP_SHARED_UMEM = 1;
    /** {@code XDP_COPY}: bind flag: force copy mode. */
    public static final int XDP_COPY = 1 << 1;
    /** {@code XDP_ZEROCOPY}: bind flag: force zero-copy mode (fails where the driver has none). */
    public static final int XDP_ZEROCOPY = 1 << 2;
    /** {@code XDP_USE_NEED_WAKEUP}: bind flag: the kernel says in each ring's flags when it needs a syscall. */
    public static final int XDP_USE_NEED_WAKEUP = 1 << 3;
    /** {@code XDP_RING_NEED_WAKEUP}: ring flag: the kernel sleeps until a syscall wakes it. */
    public static final int XDP_RING_NEED_WAKEUP = 1;
    /** {@code XDP_MMAP_OFFSETS}: getsockopt: where producer, consumer, flags and descriptors sit in each ring. */
    public static final int XDP_MMAP_OFFSETS = 1;
    /** {@code XDP_RX_RING}: setsockopt: RX ring size. */
    public static final int XDP_RX_RING = 2;
    /** {@code XDP_TX_RING}: setsockopt: TX ring size. */
    public static final int XDP_TX_RING = 3;
    /** {@code XDP_UMEM_REG}: setsockopt: register the UMEM. */
    public static final int XDP_UMEM_REG = 4;
    /** {@code XDP_UMEM_FILL_RING}: setsockopt: fill ring size. */
    public static final int XDP_UMEM_FILL_RING = 5;
    /** {@code XDP_UMEM_COMPLETION_RING}: setsockopt: completion ring size. */
    public static final int XDP_UMEM_COMPLETION_RING = 6;
    /** {@code XDP_STATISTICS}: getsockopt: the socket's drop counters. */
    public static final int XDP_STATISTICS = 7;
    /** {@code XDP_OPTIONS}: getsockopt: {@link #XDP_OPTIONS_ZEROCOPY} when bound in zero-copy mode. */
    public static final int XDP_OPTIONS = 8;
    /** {@code XDP_OPTIONS_ZEROCOPY}: XDP_OPTIONS flag: the socket runs zero-copy. */
    public static final int XDP_OPTIONS_ZEROCOPY = 1;
    /** {@code XDP_PGOFF_RX_RING}: mmap offset of the RX ring. */
    public static final long XDP_PGOFF_RX_RING = 0;
    /** {@code XDP_PGOFF_TX_RING}: mmap offset of the TX ring. */
    public static final long XDP_PGOFF_TX_RING = 0x80000000L;
    /** {@code XDP_UMEM_PGOFF_FILL_RING}: mmap offset of the fill ring. */
    public static final long XDP_UMEM_PGOFF_FILL_RING = 0x100000000L;
    /** {@code XDP_UMEM_PGOFF_COMPLETION_RING}: mmap offset of the completion ring. */
    public static final long XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000L;
    /** {@code POLLIN}: poll: readable. */
    public static final int POLLIN = 0x1;
    /** {@code POLLOUT}: poll: writable. */
    public static final int POLLOUT = 0x4;

    /** {@code struct sockaddr_xdp}: what an XDP socket binds to: an interface and one of its queues. */
    public static final StructLayout SOCKADDR_XDP = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sxdp_family"),
            JAVA_SHORT.withName("sxdp_flags"),
            JAVA_INT.withName("sxdp_ifindex"),
            JAVA_INT.withName("sxdp_queue_id"),
            JAVA_INT.withName("sxdp_shared_umem_fd")).withName("sockaddr_xdp");

    /** {@code struct xdp_umem_reg}: the UMEM: where, how long, the frame (chunk) size, headroom. */
    public static final StructLayout XDP_UMEM_REG_LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("addr"),
            JAVA_LONG.withName("len"),
            JAVA_INT.withName("chunk_size"),
            JAVA_INT.withName("headroom"),
            JAVA_INT.withName("flags"),
            MemoryLayout.paddingLayout(4)).withName("xdp_umem_reg");

    /** {@code struct xdp_ring_offset}: a ring's fields within its mapping. */
    public static final StructLayout XDP_RING_OFFSET = MemoryLayout.structLayout(
            JAVA_LONG.withName("producer"),
            JAVA_LONG.withName("consumer"),
            JAVA_LONG.withName("desc"),
            JAVA_LONG.withName("flags")).withName("xdp_ring_offset");

    /** {@code struct xdp_mmap_offsets}: the four rings' offsets. */
    public static final StructLayout XDP_MMAP_OFFSETS_LAYOUT = MemoryLayout.structLayout(
            XDP_RING_OFFSET.withName("rx"),
            XDP_RING_OFFSET.withName("tx"),
            XDP_RING_OFFSET.withName("fr"),
            XDP_RING_OFFSET.withName("cr")).withName("xdp_mmap_offsets");

    /** {@code struct xdp_desc}: an RX or TX descriptor: frame address in the UMEM, length, options. */
    public static final StructLayout XDP_DESC = MemoryLayout.structLayout(
            JAVA_LONG.withName("addr"),
            JAVA_INT.withName("len"),
            JAVA_INT.withName("options")).withName("xdp_desc");

    /** {@code struct xdp_statistics}: what the socket dropped, by cause. */
    public static final StructLayout XDP_STATISTICS_LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("rx_dropped"),
            JAVA_LONG.withName("rx_invalid_descs"),
            JAVA_LONG.withName("tx_invalid_descs"),
            JAVA_LONG.withName("rx_ring_full"),
            JAVA_LONG.withName("rx_fill_ring_empty_descs"),
            JAVA_LONG.withName("tx_ring_empty_descs")).withName("xdp_statistics");

    /** {@code struct xdp_options}: the socket's options (zero-copy or not). */
    public static final StructLayout XDP_OPTIONS_LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("flags")).withName("xdp_options");

    /** {@code struct pollfd}: one file descriptor for poll(2). */
    public static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents")).withName("pollfd");

    /**
     * The index of interface {@code name} in the calling thread's network namespace.
     *
     * @param name e.g. {@code "eth0"}
     * @return its index
     * @throws NativeException ENODEV when there is no such interface
     */
    public static int interfaceIndex(String name) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            int index = LibC.ifNameToIndex(arena.allocateFrom(name));
            if (index < 0) {
                throw new NativeException("if_nametoindex(" + name + ")", -index == 0 ? ENODEV : -index,
                        "no interface named '" + name + "' in this network namespace");
            }
            return index;
        }
    }

    /**
     * The RX queues of interface {@code name}, from {@code /sys/class/net/NAME/queues} (the combined
     * and RX channels an ethtool {@code -l} shows).
     *
     * @param name the interface
     * @return at least 1
     */
    public static int rxQueues(String name) {
        Path queues = Path.of("/sys/class/net", name, "queues");
        try (Stream<Path> s = Files.list(queues)) {
            return (int) Math.max(1, s.filter(p -> p.getFileName().toString().startsWith("rx-")).count());
        } catch (IOException e) {
            return 1; // no sysfs here: one queue is what every device has
        }
    }
}
