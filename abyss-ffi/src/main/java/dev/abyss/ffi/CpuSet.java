package dev.abyss.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code cpu_set_t} ({@code <sched.h>}, glibc: 1024 bits in 16 longs) and the affinity calls over it:
 * the CPUs this process may run on, pinning the calling thread, the CPU it runs on.
 */
public final class CpuSet {
    private CpuSet() {
    }

    /** {@code CPU_SETSIZE}: the CPUs a {@code cpu_set_t} can name. */
    public static final int CPU_SETSIZE = 1024;

    /** {@code cpu_set_t}: a bit per CPU, CPU {@code n} is bit {@code n % 64} of word {@code n / 64}. */
    public static final StructLayout CPU_SET_T = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(CPU_SETSIZE / 64, JAVA_LONG).withName("__bits")).withName("cpu_set_t");

    /**
     * The CPUs the process may run on: the affinity mask of its first thread (whose id is the
     * process id), so a thread already pinned does not narrow the answer. Ascending.
     *
     * @return the CPU indexes, at least one
     * @throws NativeException when the kernel refuses
     */
    public static int[] allowed() throws NativeException {
        return allowed((int) ProcessHandle.current().pid());
    }

    /**
     * The CPUs thread {@code tid} may run on (0: the calling thread). Ascending.
     *
     * @param tid a thread id, or 0
     * @return the CPU indexes
     * @throws NativeException when the kernel refuses (ESRCH: no such thread)
     */
    public static int[] allowed(int tid) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_T);
            LibC.check(LibC.schedGetaffinity(tid, CPU_SET_T.byteSize(), set), "sched_getaffinity(" + tid + ")");
            int[] cpus = new int[CPU_SETSIZE];
            int n = 0;
            for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
                if ((set.getAtIndex(JAVA_LONG, cpu / 64) & (1L << (cpu % 64))) != 0) {
                    cpus[n++] = cpu;
                }
            }
            return Arrays.copyOf(cpus, n);
        }
    }

    /**
     * Pins the calling thread to the one CPU {@code cpu} ({@code sched_setaffinity(0, ...)}).
     *
     * @param cpu 0..{@link #CPU_SETSIZE}-1
     * @throws NativeException when the kernel refuses (EINVAL: the CPU is not allowed or offline)
     */
    public static void pinCurrentThread(int cpu) throws NativeException {
        if (cpu < 0 || cpu >= CPU_SETSIZE) {
            throw new IllegalArgumentException("cpu must be 0.." + (CPU_SETSIZE - 1) + ", was " + cpu);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_T); // zeroed
            set.setAtIndex(JAVA_LONG, cpu / 64, 1L << (cpu % 64));
            LibC.check(LibC.schedSetaffinity(0, CPU_SET_T.byteSize(), set), "sched_setaffinity(cpu " + cpu + ")");
        }
    }

    /**
     * Lets the calling thread run on every CPU in {@code cpus} again (undoes {@link #pinCurrentThread}).
     *
     * @param cpus CPU indexes, e.g. {@link #allowed()}
     * @throws NativeException when the kernel refuses
     */
    public static void setCurrentThread(int[] cpus) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_T);
            for (int cpu : cpus) {
                set.setAtIndex(JAVA_LONG, cpu / 64, set.getAtIndex(JAVA_LONG, cpu / 64) | (1L << (cpu % 64)));
            }
            LibC.check(LibC.schedSetaffinity(0, CPU_SET_T.byteSize(), set), "sched_setaffinity(" + Arrays.toString(cpus) + ")");
        }
    }

    /**
     * The CPU the calling thread runs on now ({@code sched_getcpu(3)}).
     *
     * @return the CPU index
     * @throws NativeException when the call fails
     */
    public static int current() throws NativeException {
        return LibC.check(LibC.schedGetcpu(), "sched_getcpu");
    }
}
