package dev.abyss.bench.defence;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.session.SessionImpl;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * What the ICMP check costs the send path: {@code record} is what every datagram sent to a session
 * now pays ({@code SessionImpl.recordSent}: the fingerprint of its first 32 bytes into the session's
 * ring of four); {@code match} is what one ICMP error costs the acceptor (one fingerprint, four
 * compares). {@code size}: the datagram's length (the fingerprint reads at most 32 bytes of it).
 *
 * <p>{@code bin/bench SentFingerprints -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SentFingerprintsBenchmark {
    @Param({"7", "64", "1400"})
    public int size;

    private SessionImpl session;
    private MemorySegment datagram;

    @Setup
    public void setUp() {
        session = new SessionImpl(new PeerKey().set(new InetSocketAddress("127.0.0.1", 4000)), null, null, null, 0, 0, 0);
        datagram = Arena.ofAuto().allocate(size);
        for (int i = 0; i < size; i++) {
            datagram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i);
        }
        session.recordSent(datagram, 0, size);
    }

    /** A send's share: the datagram's fingerprint into the ring. */
    @Benchmark
    public void record() {
        session.recordSent(datagram, 0, size);
    }

    /** An ICMP error's share: its quote (here the datagram itself, at most 64 bytes read) against the ring. */
    @Benchmark
    public boolean match() {
        return session.sentMatches(datagram, Math.min(size, 64));
    }
}
