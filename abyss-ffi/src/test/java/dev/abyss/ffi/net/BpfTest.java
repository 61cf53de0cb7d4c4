package dev.abyss.ffi.net;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The reuseport program, instruction by instruction, as the kernel's reuseport_bpf_cpu selftest writes it. */
class BpfTest {

    @Test
    void theProgramIsLoadCpuModNReturnA() {
        int[][] p = Bpf.reuseportCpuProgram(4);
        assertArrayEquals(new int[]{0x20, 0, 0, 0xfffff024}, p[0], "ld [SKF_AD_OFF + SKF_AD_CPU]");
        assertArrayEquals(new int[]{0x94, 0, 0, 4}, p[1], "mod #4");
        assertArrayEquals(new int[]{0x16, 0, 0, 0}, p[2], "ret a");
    }

    @Test
    void theFprogPointsToTheInstructions() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment prog = Bpf.program(arena, Bpf.reuseportCpuProgram(3));
            assertEquals(16, prog.byteSize());
            assertEquals(3, prog.get(JAVA_SHORT, 0));
            MemorySegment filter = prog.get(ADDRESS, 8).reinterpret(3 * 8);
            assertEquals(0x94, filter.get(JAVA_SHORT, 8));
            assertEquals(3, filter.get(JAVA_INT, 12));
        }
    }
}
