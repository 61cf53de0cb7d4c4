package dev.abyss.bench.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.admission.Retries;
import dev.abyss.server.engine.session.SessionImpl;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
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
 * The retry queue's drain: {@code waiting} datagrams from peers with three datagrams each wait for
 * a full table; then places free up and one {@code process} call delivers them all. The cost per
 * datagram must stay flat as {@code waiting} grows (the drain is linear: one chain per peer), where
 * the queue it replaced walked the whole queue for every peer it delivered.
 *
 * <p>Runs on the class path (benchmarks.jar), where the engine's unexported packages are readable;
 * {@link Retries} is public for that and for the engine's other packages only.
 *
 * <p>{@code bin/bench Retries}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class RetriesBenchmark {
    @Param({"96", "768", "4095"})
    public int waiting;

    private Arena arena;
    private Retries retries;
    private PeerKey[] peers;
    private MemorySegment datagram;
    private final Host host = new Host();
    private long now;

    /** A table that is full until {@link #room} says otherwise; delivers into nothing. */
    static final class Host implements Retries.Host {
        private static final SessionImpl OPENED = new SessionImpl(new PeerKey(), null, null, null, 0, 0, 0);
        int room;
        long delivered;

        @Override
        public SessionImpl session(PeerKey peer) {
            return null;
        }

        @Override
        public SessionImpl tryOpen(PeerKey peer, PeerKey arrivedAt, MemorySegment first, boolean truncated) {
            if (room == 0) {
                return null;
            }
            room--;
            delivered++;
            return OPENED; // opened, and ended by its handleConnection: the next datagram opens again
        }

        @Override
        public void deliver(SessionImpl s, MemorySegment data, boolean truncated) {
            delivered++;
        }

        @Override
        public void droppedTableFull(PeerKey peer, long bytes) {
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofConfined();
        retries = new Retries(5, 1_000, 4 << 20, arena, host);
        peers = new PeerKey[waiting / 3];
        for (int i = 0; i < peers.length; i++) {
            peers[i] = new PeerKey().set(new InetSocketAddress("127.0.0.1", 1024 + i));
        }
        datagram = arena.allocate(64);
    }

    @Setup(Level.Invocation)
    public void fill() {
        host.room = 0;
        for (int k = 0; k < 3; k++) {
            for (PeerKey p : peers) {
                retries.add(p, datagram, false, now, false);
            }
        }
        host.room = Integer.MAX_VALUE;
        now += 1_000; // all due
    }

    /** One drain of every waiting datagram; time per datagram. */
    @Benchmark
    @OperationsPerInvocation(1)
    public long drain() {
        retries.process(now);
        return host.delivered;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
