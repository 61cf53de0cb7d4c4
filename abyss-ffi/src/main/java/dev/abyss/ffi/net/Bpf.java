package dev.abyss.ffi.net;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Classic BPF ({@code <linux/filter.h>}): {@code struct sock_filter}, {@code struct sock_fprog}, the
 * opcode parts and ancillary offsets this project uses, and the one program it attaches: reuseport
 * steering by the receiving CPU ({@link #attachReuseportCpu}).
 */
public final class Bpf {
    private Bpf() {
    }

    /** {@code BPF_LD}: instruction class: load into the accumulator A. */
    public static final int BPF_LD = 0x00;
    /** {@code BPF_ALU}: instruction class: arithmetic on A. */
    public static final int BPF_ALU = 0x04;
    /** {@code BPF_RET}: instruction class: return. */
    public static final int BPF_RET = 0x06;
    /** {@code BPF_W}: load size: a 32-bit word. */
    public static final int BPF_W = 0x00;
    /** {@code BPF_ABS}: load mode: at the absolute offset k (or an ancillary value, {@link #SKF_AD_OFF}). */
    public static final int BPF_ABS = 0x20;
    /** {@code BPF_MOD}: ALU operation: A %= operand. */
    public static final int BPF_MOD = 0x90;
    /** {@code BPF_K}: operand source: the constant k. */
    public static final int BPF_K = 0x00;
    /** {@code BPF_A}: return value source: the accumulator. */
    public static final int BPF_A = 0x10;
    /** {@code SKF_AD_OFF}: the base of the ancillary data offsets (-0x1000). */
    public static final int SKF_AD_OFF = -0x1000;
    /** {@code SKF_AD_CPU}: ancillary offset: the CPU the program runs on (the receiving CPU). */
    public static final int SKF_AD_CPU = 36;

    /** {@code struct sock_filter}: one classic BPF instruction. */
    public static final StructLayout SOCK_FILTER = MemoryLayout.structLayout(
            JAVA_SHORT.withName("code"),
            JAVA_BYTE.withName("jt"),
            JAVA_BYTE.withName("jf"),
            JAVA_INT.withName("k")).withName("sock_filter");

    /** {@code struct sock_fprog}: a program: its length in instructions and a pointer to them. */
    public static final StructLayout SOCK_FPROG = MemoryLayout.structLayout(
            JAVA_SHORT.withName("len"),
            MemoryLayout.paddingLayout(6),
            ADDRESS.withName("filter")).withName("sock_fprog");

    private static final long CODE = SOCK_FILTER.byteOffset(groupElement("code"));
    private static final long JT = SOCK_FILTER.byteOffset(groupElement("jt"));
    private static final long JF = SOCK_FILTER.byteOffset(groupElement("jf"));
    private static final long K = SOCK_FILTER.byteOffset(groupElement("k"));
    private static final long LEN = SOCK_FPROG.byteOffset(groupElement("len"));
    private static final long FILTER = SOCK_FPROG.byteOffset(groupElement("filter"));

    /**
     * The instructions of the reuseport program that returns the receiving CPU modulo {@code sockets}:
     * <pre>
     *   ld  #cpu          BPF_LD  | BPF_W   | BPF_ABS, k = SKF_AD_OFF + SKF_AD_CPU
     *   mod #sockets      BPF_ALU | BPF_MOD | BPF_K,   k = sockets
     *   ret a             BPF_RET | BPF_A
     * </pre>
     * Each row is {@code {code, jt, jf, k}}.
     *
     * @param sockets the sockets of the group, at least 1
     * @return the three instructions
     */
    public static int[][] reuseportCpuProgram(int sockets) {
        if (sockets < 1) {
            throw new IllegalArgumentException("sockets must be >= 1, was " + sockets);
        }
        return new int[][]{
                {BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_CPU},
                {BPF_ALU | BPF_MOD | BPF_K, 0, 0, sockets},
                {BPF_RET | BPF_A, 0, 0, 0},
        };
    }

    /**
     * Writes {@code program} ({@code {code, jt, jf, k}} rows) and the {@code sock_fprog} that points to
     * it into {@code arena}.
     *
     * @param arena   where the program lives (the kernel copies it when it is attached)
     * @param program the instructions
     * @return the {@code sock_fprog}
     */
    public static MemorySegment program(Arena arena, int[][] program) {
        MemorySegment filter = arena.allocate(SOCK_FILTER, program.length);
        for (int i = 0; i < program.length; i++) {
            long at = i * SOCK_FILTER.byteSize();
            filter.set(JAVA_SHORT, at + CODE, (short) program[i][0]);
            filter.set(JAVA_BYTE, at + JT, (byte) program[i][1]);
            filter.set(JAVA_BYTE, at + JF, (byte) program[i][2]);
            filter.set(JAVA_INT, at + K, program[i][3]);
        }
        MemorySegment prog = arena.allocate(SOCK_FPROG);
        prog.set(JAVA_SHORT, LEN, (short) program.length);
        prog.set(ADDRESS, FILTER, filter);
        return prog;
    }

    /**
     * Attaches {@link #reuseportCpuProgram} to the SO_REUSEPORT group of {@code fd}: a datagram then
     * goes to the socket whose index in the group (the order the sockets were bound in) is its
     * receiving CPU modulo {@code sockets}; an index the group does not have (yet) falls back to the
     * kernel's hash.
     *
     * @param fd      a bound socket of the group (with SO_REUSEPORT)
     * @param sockets the sockets of the group
     * @throws NativeException when the kernel refuses (EINVAL: not a SO_REUSEPORT socket)
     */
    public static void attachReuseportCpu(int fd, int sockets) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment prog = program(arena, reuseportCpuProgram(sockets));
            LibC.check(LibC.setsockopt(fd, Net.SOL_SOCKET, Net.SO_ATTACH_REUSEPORT_CBPF, prog, (int) SOCK_FPROG.byteSize()),
                    "setsockopt(SO_ATTACH_REUSEPORT_CBPF, cpu % " + sockets + ")");
        }
    }
}
