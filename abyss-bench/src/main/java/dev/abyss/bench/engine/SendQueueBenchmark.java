package dev.abyss.bench.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.outbound.SendQueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
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
import java.util.concurrent.TimeUnit;

/**
 * The off-heap MPSC send queue: a producer thread offering datagrams (a thread other than the
 * acceptor calling {@code session.send}) against the acceptor draining them, in one JMH group.
 * {@code offer} scores count offers (refused ones included: the queue was full).
 *
 * <p>Runs on the class path (benchmarks.jar), where the engine's unexported packages are readable;
 * {@link SendQueue} is public for that and for the engine's other packages only.
 *
 * <p>{@code bin/bench SendQueue -prof gc}
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SendQueueBenchmark {
    @Param({"64", "1400"})
    public int size;

    private Arena arena;
    private SendQueue queue;
    private MemorySegment payload;
    private final PeerKey peer = new PeerKey().set(new InetSocketAddress("127.0.0.1", 4242));
    private long drained;
    private final SendQueue.Consumer consumer = (ring, nameAt, nameLength, fromAt, fromLength, trafficClass, dataAt, dataLength) -> drained += dataLength;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        queue = new SendQueue(arena, 4 << 20);
        payload = arena.allocate(size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    @Group("mpsc")
    @GroupThreads(1)
    public boolean offer() {
        return queue.offer(peer, payload, 0, size);
    }

    @Benchmark
    @Group("mpsc")
    @GroupThreads(1)
    public int drain() {
        return queue.drain(consumer, 64);
    }
}
