package dev.abyss.bench.compare;

import dev.abyss.bench.load.BulkOptions;
import dev.abyss.bench.load.BulkResult;
import dev.abyss.bench.load.LoadGenerator;
import dev.abyss.bench.load.LoadOptions;
import dev.abyss.bench.load.LoadResult;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The C references as the comparison builds and runs them (gcc at run time): every datagram echoed
 * intact, including by the io_uring one when its buffers run out (-ENOBUFS, re-armed); the bulk one
 * answers every request with its N datagrams; and perf's
 * syscall count where perf works. Skipped without gcc.
 */
@Timeout(120)
class CReferencesTest {
    @TempDir
    static Path dir;
    static Map<String, Path> natives;

    @BeforeAll
    static void compile() throws Exception {
        Skip.unless(gccWorks(), "gcc is not installed");
        Map<Contender, String> failed = new LinkedHashMap<>();
        natives = Compare.compileReferences(List.of(Contender.of("c-ref", 1), Contender.of("c-iouring", 1),
                Contender.of("c-ref-bulk", 1)), dir, failed);
        assertEquals(Map.of(), failed);
        assertEquals(natives.get("c-ref"), natives.get("c-ref-bulk"), "echo_ref.c serves both, built once");
    }

    @ParameterizedTest
    @ValueSource(strings = {"c-ref", "c-iouring"})
    void echoesEveryDatagramIntact(String kind) throws Exception {
        for (int threads : new int[]{1, 2}) {
            LoadResult r = load(Contender.of(kind, threads), natives, 16, 32, 64, 50_000);
            assertClean(r);
            r = load(Contender.of(kind, threads), natives, 16, 8, 1400, 20_000);
            assertClean(r);
        }
    }

    @Test
    void theBulkReferenceAnswersEveryRequestInFull() throws Exception {
        int port = freePort();
        try (ServerProcess server = ServerProcess.start(Contender.of("c-ref-bulk", 2), port, null, natives)) {
            for (boolean gro : new boolean[]{false, true}) {
                for (int n : new int[]{1, 16, 64}) {
                    BulkResult r = LoadGenerator.runBulk(new BulkOptions(new InetSocketAddress("127.0.0.1", port), 4, 2, n, gro,
                            Duration.ofSeconds(30), 500, false));
                    assertTrue(r.completed() >= 500, r.table());
                    assertEquals(0, r.lost() + r.late() + r.corrupt(), r.table());
                    assertEquals(r.completed() * n, r.datagrams(), r.table());
                }
            }
        }
    }

    @Test
    void theIoUringReferenceSurvivesRunningOutOfBuffers() throws Exception {
        // 8 buffers against 512 datagrams in flight: the multishot receive ends on -ENOBUFS again and again
        Path src = dir.resolve("echo_uring_small.c");
        try (InputStream in = Compare.class.getResourceAsStream("/echo_uring.c")) {
            Files.copy(in, src);
        }
        Path bin = dir.resolve("echo_uring_small");
        Process gcc = new ProcessBuilder("gcc", "-O2", "-pthread", "-DBUFS=8", "-o", bin.toString(), src.toString()).inheritIO().start();
        assertTrue(gcc.waitFor(60, TimeUnit.SECONDS) && gcc.exitValue() == 0, "gcc -DBUFS=8");
        assertClean(load(Contender.of("c-iouring", 1), Map.of("c-iouring", bin), 64, 8, 64, 50_000));
    }

    @Test
    void perfCountsTheServersSyscallsOverTheWindow() throws Exception {
        Skip.ifUnavailable("perf counting syscalls", SyscallCounter.unavailableReason());
        int port = freePort();
        try (ServerProcess server = ServerProcess.start(Contender.of("c-ref", 1), port, null, natives)) {
            SyscallCounter counter = SyscallCounter.attach(server.pid(), dir);
            LoadResult r = LoadGenerator.run(new LoadOptions(new InetSocketAddress("127.0.0.1", port), 16, 32, 64,
                    Duration.ofSeconds(30), 20_000, 0, false, 1, false), counter);
            long n = counter.finish();
            assertTrue(n > 0, "counted " + n + ": " + counter.problem());
            // recvmmsg + sendmmsg per batch: at least 2 per 64 echoes, at most 2 per echo
            double perEcho = n / (double) r.echoed();
            assertTrue(perEcho >= 2.0 / 64 && perEcho <= 2.5, "syscalls per echo " + perEcho);
        }
    }

    private static LoadResult load(Contender c, Map<String, Path> natives, int peers, int window, int size, long count)
            throws Exception {
        int port = freePort();
        try (ServerProcess server = ServerProcess.start(c, port, null, natives)) {
            return LoadGenerator.run(new LoadOptions(new InetSocketAddress("127.0.0.1", port), peers, window, size,
                    Duration.ofSeconds(30), count, 0, false, 1, false));
        }
    }

    private static void assertClean(LoadResult r) {
        assertTrue(r.echoed() > 0, r.table());
        assertEquals(0, r.corrupt(), r.table());
        assertEquals(0, r.lost(), r.table());
    }

    private static boolean gccWorks() {
        try {
            return new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            return false;
        }
    }

    private static int freePort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            return s.getLocalPort();
        }
    }
}
