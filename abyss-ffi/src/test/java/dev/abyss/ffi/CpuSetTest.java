package dev.abyss.ffi;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sched_getaffinity / sched_setaffinity / sched_getcpu over a cpu_set_t, on this machine. */
class CpuSetTest {

    @Test
    void theAllowedCpusAreAsManyAsTheJvmSees() throws Exception {
        int[] allowed = CpuSet.allowed();
        assertTrue(allowed.length >= 1);
        assertEquals(Runtime.getRuntime().availableProcessors(), allowed.length, Arrays.toString(allowed));
        for (int i = 1; i < allowed.length; i++) {
            assertTrue(allowed[i - 1] < allowed[i], "ascending: " + Arrays.toString(allowed));
        }
    }

    @Test
    void aPinnedThreadRunsOnItsCpuOnlyAndTheProcessKeepsItsSet() throws Exception {
        int[] allowed = CpuSet.allowed();
        int cpu = allowed[allowed.length - 1];
        CompletableFuture<int[]> seen = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                CpuSet.pinCurrentThread(cpu);
                int[] mine = CpuSet.allowed(0);
                int now = -1;
                for (int i = 0; i < 100; i++) { // bounded: every sample must be the pinned CPU
                    now = CpuSet.current();
                    if (now != cpu) {
                        break;
                    }
                    Thread.yield();
                }
                seen.complete(new int[]{mine.length, mine[0], now});
            } catch (Throwable e) {
                seen.completeExceptionally(e);
            }
        });
        int[] r = seen.get(30, TimeUnit.SECONDS);
        assertArrayEquals(new int[]{1, cpu, cpu}, r, "mask size, its CPU, where it ran");
        assertArrayEquals(allowed, CpuSet.allowed(), "the process's set is its first thread's, untouched");
    }

    @Test
    void aCpuOutsideTheSetIsRefusedWithItsErrno() {
        assertThrows(IllegalArgumentException.class, () -> CpuSet.pinCurrentThread(CpuSet.CPU_SETSIZE));
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                int[] allowed = CpuSet.allowed();
                CpuSet.pinCurrentThread(allowed[allowed.length - 1] + 1 < CpuSet.CPU_SETSIZE
                        ? allowed[allowed.length - 1] + 1 : 0);
                failure.complete(null);
            } catch (Throwable e) {
                failure.complete(e);
            }
        });
        Throwable e = failure.join();
        assertTrue(e instanceof NativeException n && n.errno() == Errno.EINVAL, String.valueOf(e));
    }
}
