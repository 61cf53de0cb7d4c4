package dev.abyss.bench;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.examples.Echo;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The INLINE echo round trip over loopback: {@code peers} connected blocking client sockets each
 * send one 64-byte datagram, then each reads its echo. One op = one datagram echoed. Client and
 * server share the JVM, so {@code -prof gc}'s B/op bounds what the server allocates per datagram.
 *
 * <p>B/op of {@code -prof gc} includes the client's allocation (its write/read calls); after each
 * iteration the benchmark prints what the acceptor thread alone allocated per datagram.
 * With {@code peers} = 16 one op echoes 16 datagrams.
 *
 * <p>{@code java -jar abyss-bench/target/benchmarks.jar EchoRoundTrip -prof gc}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class EchoRoundTripBenchmark {
    @Param({"segment", "handler"})
    public String api;

    @Param({"1", "16"})
    public int peers;

    private Server server;
    private Arena arena;
    private int[] fds;
    private MemorySegment out;
    private MemorySegment in;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        ServerConfig.Builder b = ServerConfig.builder().numAcceptors(1).shutdownTimeout(Duration.ZERO);
        if (api.equals("segment")) {
            b.segmentHandler((session, data) -> session.send(data));
        } else {
            b.handler(new Echo());
        }
        server = Abyss.start(b.build());
        arena = Arena.ofShared();
        out = arena.allocate(64);
        in = arena.allocate(2048);
        fds = new int[peers];
        for (int i = 0; i < peers; i++) {
            fds[i] = Sockets.openDatagram(Net.AF_INET, false);
            Sockets.bind(fds[i], new InetSocketAddress("127.0.0.1", 0));
            Sockets.connect(fds[i], server.localAddress());
        }
    }

    private Thread acceptor;
    private long allocatedAtStart;
    private long datagramsAtStart;

    /** The acceptor thread's own allocation, apart from the client's: printed after each iteration. */
    @Setup(Level.Iteration)
    public void markAllocation() {
        acceptor = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("abyss-acceptor-0"))
                .findFirst().orElseThrow();
        allocatedAtStart = THREADS.getThreadAllocatedBytes(acceptor.threadId());
        datagramsAtStart = server.stats().datagramsIn();
    }

    @TearDown(Level.Iteration)
    public void reportAllocation() {
        long bytes = THREADS.getThreadAllocatedBytes(acceptor.threadId()) - allocatedAtStart;
        long datagrams = server.stats().datagramsIn() - datagramsAtStart;
        System.out.printf(java.util.Locale.ROOT, "  [acceptor thread: %,d B allocated for %,d datagrams = %.3f B/datagram]%n",
                bytes, datagrams, datagrams == 0 ? 0.0 : (double) bytes / datagrams);
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    @TearDown(Level.Trial)
    public void tearDown() {
        for (int fd : fds) {
            LibC.close(fd);
        }
        server.stop(Duration.ZERO);
        arena.close();
    }

    @Benchmark
    @org.openjdk.jmh.annotations.OperationsPerInvocation(1)
    public long roundTrip() {
        long got = 0;
        for (int fd : fds) {
            LibC.write(fd, out, 64);
        }
        for (int fd : fds) {
            got += LibC.read(fd, in, 2048);
        }
        return got / 64; // datagrams echoed this invocation (== peers)
    }
}
