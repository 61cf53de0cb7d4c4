package dev.abyss.bench;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
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
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Reading a peer address out of native memory: the allocation-free {@link PeerKey} path used per
 * datagram against the allocating {@link SockAddr#read} used for new peers. Run with {@code -prof gc}:
 * the PeerKey rows must show ~0 B/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SockAddrDecodeBenchmark {
    @Param({"ipv4", "ipv6"})
    public String family;

    private Arena arena;
    private MemorySegment sockaddr;
    private int length;
    private final PeerKey key = new PeerKey();

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofConfined();
        sockaddr = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        SocketAddress peer = family.equals("ipv4")
                ? new InetSocketAddress("127.0.0.1", 40000)
                : new InetSocketAddress("::1", 40000);
        length = SockAddr.write(peer, sockaddr);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int peerKey() {
        key.readFrom(sockaddr, length);
        return key.hashCode();
    }

    @Benchmark
    public SocketAddress javaSocketAddress() {
        return SockAddr.read(sockaddr, length);
    }
}
