package dev.abyss.ffi.xdp;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The four commands of {@code bpf(2)} ({@code <linux/bpf.h>}) an AF_XDP server needs: create an
 * XSKMAP, put a socket in it, load an XDP program (the verifier's log surfaced when it refuses), and
 * attach it to an interface through a BPF link, which the kernel removes when its last file
 * descriptor closes, so a process that dies (even {@code kill -9}) leaves no program behind.
 *
 * <p>{@code union bpf_attr} is a union of one struct per command; each command's part is one layout
 * here ({@link #MAP_CREATE_ATTR}, ...), all named {@code bpf_attr} members so the ABI test checks
 * their offsets against {@code union bpf_attr}. The kernel reads {@code size} bytes and treats what
 * a caller leaves out as zero.
 */
public final class BpfSyscall {
    private BpfSyscall() {
    }

    /** {@code BPF_MAP_CREATE}: command: create a map, returns its fd. */
    public static final int BPF_MAP_CREATE = 0;
    /** {@code BPF_MAP_UPDATE_ELEM}: command: set a map entry. */
    public static final int BPF_MAP_UPDATE_ELEM = 2;
    /** {@code BPF_PROG_LOAD}: command: verify and load a program, returns its fd. */
    public static final int BPF_PROG_LOAD = 5;
    /** {@code BPF_LINK_CREATE}: command: attach a program through a link, returns the link's fd. */
    public static final int BPF_LINK_CREATE = 28;
    /** {@code BPF_MAP_TYPE_XSKMAP}: map type: AF_XDP sockets by index (the RX queue). */
    public static final int BPF_MAP_TYPE_XSKMAP = 17;
    /** {@code BPF_PROG_TYPE_XDP}: program type: runs on each received frame, in the driver or generic. */
    public static final int BPF_PROG_TYPE_XDP = 6;
    /** {@code BPF_XDP}: attach type: XDP on a network device (for BPF_LINK_CREATE). */
    public static final int BPF_XDP = 37;
    /** {@code BPF_OBJ_NAME_LEN}: bytes of a map's or program's name, with the NUL. */
    public static final int BPF_OBJ_NAME_LEN = 16;
    /** {@code BPF_ANY}: map update: create or replace the entry. */
    public static final int BPF_ANY = 0;
    /** {@code XDP_FLAGS_SKB_MODE}: attach in generic (skb) mode, which every device has. */
    public static final int XDP_FLAGS_SKB_MODE = 1 << 1;
    /** {@code XDP_FLAGS_DRV_MODE}: attach in the driver (native mode). */
    public static final int XDP_FLAGS_DRV_MODE = 1 << 2;

    /** The part of {@code union bpf_attr} that {@code BPF_MAP_CREATE} reads. */
    public static final StructLayout MAP_CREATE_ATTR = MemoryLayout.structLayout(
            JAVA_INT.withName("map_type"),
            JAVA_INT.withName("key_size"),
            JAVA_INT.withName("value_size"),
            JAVA_INT.withName("max_entries"),
            JAVA_INT.withName("map_flags"),
            JAVA_INT.withName("inner_map_fd"),
            JAVA_INT.withName("numa_node"),
            MemoryLayout.sequenceLayout(BPF_OBJ_NAME_LEN, JAVA_BYTE).withName("map_name"),
            MemoryLayout.paddingLayout(4)).withName("bpf_attr_map_create");

    /** The part of {@code union bpf_attr} that {@code BPF_MAP_*_ELEM} read. */
    public static final StructLayout MAP_ELEM_ATTR = MemoryLayout.structLayout(
            JAVA_INT.withName("map_fd"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("key"),
            JAVA_LONG.withName("value"),
            JAVA_LONG.withName("flags")).withName("bpf_attr_map_elem");

    /** The part of {@code union bpf_attr} that {@code BPF_PROG_LOAD} reads (up to the expected attach type). */
    public static final StructLayout PROG_LOAD_ATTR = MemoryLayout.structLayout(
            JAVA_INT.withName("prog_type"),
            JAVA_INT.withName("insn_cnt"),
            JAVA_LONG.withName("insns"),
            JAVA_LONG.withName("license"),
            JAVA_INT.withName("log_level"),
            JAVA_INT.withName("log_size"),
            JAVA_LONG.withName("log_buf"),
            JAVA_INT.withName("kern_version"),
            JAVA_INT.withName("prog_flags"),
            MemoryLayout.sequenceLayout(BPF_OBJ_NAME_LEN, JAVA_BYTE).withName("prog_name"),
            JAVA_INT.withName("prog_ifindex"),
            JAVA_INT.withName("expected_attach_type")).withName("bpf_attr_prog_load");

    /** The part of {@code union bpf_attr} that {@code BPF_LINK_CREATE} reads ({@code link_create}), for XDP. */
    public static final StructLayout LINK_CREATE_ATTR = MemoryLayout.structLayout(
            JAVA_INT.withName("prog_fd"),
            JAVA_INT.withName("target_ifindex"),
            JAVA_INT.withName("attach_type"),
            JAVA_INT.withName("flags")).withName("bpf_attr_link_create");

    /** Bytes given to the kernel for every command: the largest part above, rounded up. */
    static final long ATTR_SIZE = 128;

    private static final long MC_TYPE = MAP_CREATE_ATTR.byteOffset(groupElement("map_type"));
    private static final long MC_KEY = MAP_CREATE_ATTR.byteOffset(groupElement("key_size"));
    private static final long MC_VALUE = MAP_CREATE_ATTR.byteOffset(groupElement("value_size"));
    private static final long MC_MAX = MAP_CREATE_ATTR.byteOffset(groupElement("max_entries"));
    private static final long MC_NAME = MAP_CREATE_ATTR.byteOffset(groupElement("map_name"));
    private static final long ME_FD = MAP_ELEM_ATTR.byteOffset(groupElement("map_fd"));
    private static final long ME_KEY = MAP_ELEM_ATTR.byteOffset(groupElement("key"));
    private static final long ME_VALUE = MAP_ELEM_ATTR.byteOffset(groupElement("value"));
    private static final long ME_FLAGS = MAP_ELEM_ATTR.byteOffset(groupElement("flags"));
    private static final long PL_TYPE = PROG_LOAD_ATTR.byteOffset(groupElement("prog_type"));
    private static final long PL_CNT = PROG_LOAD_ATTR.byteOffset(groupElement("insn_cnt"));
    private static final long PL_INSNS = PROG_LOAD_ATTR.byteOffset(groupElement("insns"));
    private static final long PL_LICENSE = PROG_LOAD_ATTR.byteOffset(groupElement("license"));
    private static final long PL_LOG_LEVEL = PROG_LOAD_ATTR.byteOffset(groupElement("log_level"));
    private static final long PL_LOG_SIZE = PROG_LOAD_ATTR.byteOffset(groupElement("log_size"));
    private static final long PL_LOG_BUF = PROG_LOAD_ATTR.byteOffset(groupElement("log_buf"));
    private static final long PL_NAME = PROG_LOAD_ATTR.byteOffset(groupElement("prog_name"));
    private static final long PL_ATTACH = PROG_LOAD_ATTR.byteOffset(groupElement("expected_attach_type"));
    private static final long LC_PROG = LINK_CREATE_ATTR.byteOffset(groupElement("prog_fd"));
    private static final long LC_IFINDEX = LINK_CREATE_ATTR.byteOffset(groupElement("target_ifindex"));
    private static final long LC_ATTACH = LINK_CREATE_ATTR.byteOffset(groupElement("attach_type"));
    private static final long LC_FLAGS = LINK_CREATE_ATTR.byteOffset(groupElement("flags"));

    /** The verifier's log buffer: enough for a program of a few dozen instructions at log level 1. */
    private static final int LOG_SIZE = 1 << 20;

    /**
     * Creates an XSKMAP: {@code entries} slots, key and value 4 bytes (queue index, socket fd).
     *
     * @param name    the map's name (15 bytes at most are kept), shown by bpftool
     * @param entries slots, one per RX queue
     * @return the map's file descriptor
     * @throws NativeException EPERM without CAP_BPF/CAP_SYS_ADMIN, EINVAL on a kernel without XSKMAP
     */
    public static int createXskMap(String name, int entries) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, MC_TYPE, BPF_MAP_TYPE_XSKMAP);
            attr.set(JAVA_INT, MC_KEY, 4);
            attr.set(JAVA_INT, MC_VALUE, 4);
            attr.set(JAVA_INT, MC_MAX, entries);
            putName(attr, MC_NAME, name);
            return LibC.check(LibC.bpf(BPF_MAP_CREATE, attr, ATTR_SIZE), "bpf(BPF_MAP_CREATE, XSKMAP[" + entries + "])");
        }
    }

    /**
     * Sets entry {@code key} of a map with 4-byte keys and values.
     *
     * @param mapFd the map
     * @param key   the key (for an XSKMAP: the RX queue)
     * @param value the value (for an XSKMAP: the AF_XDP socket's fd)
     * @throws NativeException when the kernel refuses
     */
    public static void updateElement(int mapFd, int key, int value) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = arena.allocate(JAVA_INT);
            k.set(JAVA_INT, 0, key);
            MemorySegment v = arena.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, value);
            MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, ME_FD, mapFd);
            attr.set(JAVA_LONG, ME_KEY, k.address());
            attr.set(JAVA_LONG, ME_VALUE, v.address());
            attr.set(JAVA_LONG, ME_FLAGS, BPF_ANY);
            LibC.check(LibC.bpf(BPF_MAP_UPDATE_ELEM, attr, ATTR_SIZE), "bpf(BPF_MAP_UPDATE_ELEM, " + key + " -> " + value + ")");
        }
    }

    /**
     * Loads an XDP program (GPL, so it may call every helper) expecting to be attached as
     * {@link #BPF_XDP}.
     *
     * @param name         the program's name (15 bytes kept), shown by bpftool and {@code ip link}
     * @param instructions the program, 8 bytes an instruction (see {@link BpfAssembler})
     * @return the program's file descriptor
     * @throws NativeException when the verifier refuses it (EACCES, EINVAL; the message holds its log),
     *                         EPERM without CAP_BPF/CAP_SYS_ADMIN
     */
    public static int loadXdpProgram(String name, byte[] instructions) throws NativeException {
        if (instructions.length % 8 != 0 || instructions.length == 0) {
            throw new IllegalArgumentException("a BPF program is a non-empty multiple of 8 bytes, was " + instructions.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment insns = arena.allocate(instructions.length, 8);
            MemorySegment.copy(instructions, 0, insns, JAVA_BYTE, 0, instructions.length);
            MemorySegment license = arena.allocateFrom("GPL");
            MemorySegment log = arena.allocate(LOG_SIZE);
            MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, PL_TYPE, BPF_PROG_TYPE_XDP);
            attr.set(JAVA_INT, PL_CNT, instructions.length / 8);
            attr.set(JAVA_LONG, PL_INSNS, insns.address());
            attr.set(JAVA_LONG, PL_LICENSE, license.address());
            attr.set(JAVA_INT, PL_ATTACH, BPF_XDP);
            putName(attr, PL_NAME, name);
            int fd = LibC.bpf(BPF_PROG_LOAD, attr, ATTR_SIZE);
            if (fd >= 0) {
                return fd;
            }
            // load again with the log on: a first try without it costs nothing when it passes
            attr.set(JAVA_INT, PL_LOG_LEVEL, 1);
            attr.set(JAVA_INT, PL_LOG_SIZE, LOG_SIZE);
            attr.set(JAVA_LONG, PL_LOG_BUF, log.address());
            int again = LibC.bpf(BPF_PROG_LOAD, attr, ATTR_SIZE);
            if (again >= 0) {
                return again;
            }
            throw new NativeException("bpf(BPF_PROG_LOAD, " + name + ")", -again, "verifier log:\n" + log.getString(0));
        }
    }

    /**
     * Attaches an XDP program to an interface through a BPF link.
     *
     * @param progFd  the program
     * @param ifindex the interface
     * @param flags   {@link #XDP_FLAGS_DRV_MODE}, {@link #XDP_FLAGS_SKB_MODE} or 0 (the kernel picks)
     * @return the link's file descriptor: the program stays attached while it is open
     * @throws NativeException EBUSY when another program is attached, EOPNOTSUPP when the driver has no native XDP
     */
    public static int attachXdp(int progFd, int ifindex, int flags) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, LC_PROG, progFd);
            attr.set(JAVA_INT, LC_IFINDEX, ifindex);
            attr.set(JAVA_INT, LC_ATTACH, BPF_XDP);
            attr.set(JAVA_INT, LC_FLAGS, flags);
            return LibC.check(LibC.bpf(BPF_LINK_CREATE, attr, ATTR_SIZE),
                    "bpf(BPF_LINK_CREATE, XDP on ifindex " + ifindex + ", flags " + flags + ")");
        }
    }

    private static void putName(MemorySegment attr, long at, String name) {
        byte[] b = name.getBytes(StandardCharsets.US_ASCII);
        int n = Math.min(b.length, BPF_OBJ_NAME_LEN - 1);
        for (int i = 0; i < n; i++) {
            byte c = b[i];
            // the kernel accepts letters, digits, '_' and '.' only
            attr.set(JAVA_BYTE, at + i, Character.isLetterOrDigit(c) || c == '.' ? c : (byte) '_');
        }
    }
}
