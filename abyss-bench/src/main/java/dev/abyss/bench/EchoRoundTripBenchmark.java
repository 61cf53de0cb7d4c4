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
