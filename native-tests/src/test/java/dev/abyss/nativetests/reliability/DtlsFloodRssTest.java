package dev.abyss.nativetests.reliability;

import dev.abyss.ffi.net.Net;
import dev.abyss.loopback.LoopbackPeers;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.DtlsClient;
import dev.abyss.testsupport.Skip;
import dev.abyss.testsupport.TestCertificates;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forged-ClientHello flood of {@link DtlsReliabilityTest} against a DTLS server alone in its
 * own JVM ({@link DtlsServerChild}, heap fixed at 64 MiB and touched up front), so its resident set
 * is the server's: after a first flood of {@value #FLOOD} forged hellos from as many addresses (the
 * JIT warms up), a second from {@value #FLOOD} new addresses grows the server's RSS by less than
 * {@value #RSS_BOUND_MIB} MiB and its live heap by less than {@value #HEAP_BOUND_MIB} MiB, and opens
 * no session. Anything kept per forged peer, on the heap or off it, of more than about 1 kB would
 * show: an SSLEngine each would be well over 10 kB, 200 MB for the flood.
 */
@Timeout(180)
class DtlsFloodRssTest {
    private static final int FLOOD = 20_000;
    private static final int BURST = 1_000;
    private static final int RSS_BOUND_MIB = 16;
    private static final int HEAP_BOUND_MIB = 8;

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aFloodOfForgedHellosGrowsNeitherTheServersHeapNorItsResidentSet(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch", "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                DtlsServerChild.class.getName(), kind.name()));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            int port = Integer.parseInt(expect(out, "READY port=", child));
            InetSocketAddress server = new InetSocketAddress("127.0.0.1", port);
            byte[] hello;
            try (DtlsClient source = new DtlsClient(server, TestCertificates.context(null, TestCertificates.get().trust))) {
                hello = source.firstHello(); // a valid DTLS 1.2 ClientHello without a cookie
            }
            byte[] bogus = DtlsReliabilityTest.withCookie(hello, "sixteen bogus by".getBytes(StandardCharsets.US_ASCII));
            try (LoopbackPeers flood = new LoopbackPeers(server, 4 << 20)) {
                flood(flood, 0, hello, bogus);
                Map<String, Long> before = stats(child, out);
                flood(flood, FLOOD, hello, bogus);
                Map<String, Long> after = stats(child, out);
                long rssGrowth = after.get("rss") - before.get("rss");
                long heapGrowth = after.get("heap") - before.get("heap");
                Reliability.figures("dtls-flood-rss", "%s: a second flood of %,d forged ClientHellos from new addresses: server RSS "
                                + "%,d -> %,d KiB (bound +%d MiB), live heap %,d -> %,d KiB (bound +%d MiB), %d sessions opened",
                        kind, FLOOD, before.get("rss"), after.get("rss"), RSS_BOUND_MIB, before.get("heap") >> 10,
                        after.get("heap") >> 10, HEAP_BOUND_MIB, after.get("opened"));
                assertEquals(0, after.get("opened"), "no session for a forged address: " + after);
                assertTrue(after.get("handled") - before.get("handled") >= FLOOD, "every forged hello answered or counted: "
                        + before + " -> " + after);
                assertTrue(rssGrowth < RSS_BOUND_MIB << 10, "RSS grew " + rssGrowth + " KiB: " + before + " -> " + after);
                assertTrue(heapGrowth < (long) HEAP_BOUND_MIB << 20, "heap grew " + heapGrowth + " B: " + before + " -> " + after);
            }
        } finally {
            child.getOutputStream().close();
            if (!child.waitFor(10, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
    }

    /** {@link #FLOOD} forged hellos from peers {@code first}.., every other one with a bogus cookie, paced by the answers. */
    private static void flood(LoopbackPeers flood, int first, byte[] hello, byte[] bogus) {
        MemorySegment plain = Arena.ofAuto().allocate(hello.length);
        plain.copyFrom(MemorySegment.ofArray(hello));
        MemorySegment cookied = Arena.ofAuto().allocate(bogus.length);
        cookied.copyFrom(MemorySegment.ofArray(bogus));
        MemorySegment in = Arena.ofAuto().allocate(65_536);
        long answers = 0;
        for (int start = 0; start < FLOOD; start += BURST) {
            for (int n = start; n < start + BURST; n++) {
                boolean withCookie = (n & 1) == 1;
                while (flood.send(first + n, withCookie ? cookied : plain, withCookie ? bogus.length : hello.length,
                        Net.MSG_DONTWAIT) < 0) {
                    answers += drain(flood, in);
                }
            }
            // the next burst once this one is answered (the bogus cookies are answered too), or after 2 s
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (answers < start + BURST && System.nanoTime() < deadline) {
                long got = drain(flood, in);
                answers += got;
                if (got == 0) {
                    Thread.onSpinWait();
                }
            }
        }
    }

    private static long drain(LoopbackPeers flood, MemorySegment in) {
        long n = 0;
        while (flood.receive(in, Net.MSG_DONTWAIT) > 0) {
            n++;
        }
        return n;
    }

    private static Map<String, Long> stats(Process child, BufferedReader out) throws Exception {
        child.getOutputStream().write("STATS\n".getBytes(StandardCharsets.US_ASCII));
        child.getOutputStream().flush();
        Map<String, Long> m = new HashMap<>();
        for (String kv : expect(out, "STATS ", child).split(" ")) {
            int eq = kv.indexOf('=');
            m.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
        }
        return m;
    }

    /** The rest of the child's next line starting with {@code prefix} (others skipped); fails if it ends first. */
    private static String expect(BufferedReader out, String prefix, Process child) throws Exception {
        StringBuilder seen = new StringBuilder();
        for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length());
            }
            seen.append(line).append('\n');
        }
        throw new AssertionError("the server child ended (" + (child.isAlive() ? "alive" : "exit " + child.waitFor())
                + ") before '" + prefix + "':\n" + seen);
    }
}
