package dev.abyss.bench.defence;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.AddressTokens;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.engine.dispatch.CallbackClock;
import dev.abyss.server.engine.dispatch.StatelessDispatch;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.ErrorLog;
import dev.abyss.server.transport.DatagramFacts;
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
import org.openjdk.jmh.infra.Blackhole;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * {@link AddressTokens} as a {@link DatagramHandler} uses it: the handler gets the server's reused
 * {@code Peer} (a {@link StatelessDispatch} over the transport's address key, as the engine builds it)
 * and a request holding an 8-byte context and a 16-byte token (a DNS COOKIE option), and verifies the
 * token, or issues one. {@code dispatch} is the same call with a handler that does nothing: the
 * baseline to subtract. {@code forged} verifies a token whose hash is wrong (what a flood of forged
 * cookies costs: both secrets are always tried). {@code previous}: whether a previous secret is held
 * (after a rotation; two hashes per verify).
 *
 * <p>Runs on the class path (benchmarks.jar), where the engine's unexported packages are readable.
 *
 * <p>{@code bin/bench AddressTokens -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class AddressTokensBenchmark {
    @Param({"127.0.0.1", "fd00::1"})
    public String address;

    @Param({"false", "true"})
    public boolean previous;

    private StatelessDispatch nothing;
    private StatelessDispatch verify;
    private StatelessDispatch issue;
    private PeerKey peer;
    private MemorySegment request;
    private MemorySegment forgedRequest;
    private MemorySegment reply;
    private boolean lastVerdict;

    @Setup
    public void setUp() {
        AddressTokens tokens = AddressTokens.builder().build();
        if (previous) {
            tokens.rotate();
        }
        InetSocketAddress from = new InetSocketAddress(address, 53000);
        peer = new PeerKey().set(from);
        request = Arena.ofAuto().allocate(24);
        for (int i = 0; i < 8; i++) {
            request.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (0x20 + i));
        }
        tokens.issue(from, request, 0, 8, request, 8);
        forgedRequest = Arena.ofAuto().allocate(24);
        forgedRequest.copyFrom(request);
        forgedRequest.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 23, (byte) ~request.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 23));
        reply = Arena.ofAuto().allocate(64);
        nothing = dispatch((p, data) -> { });
        verify = dispatch((p, data) -> lastVerdict = tokens.verify(p, data, 8, 16, data, 0, 8));
        issue = dispatch((p, data) -> tokens.issue(p, data, 0, 8, reply, 8));
        if (!check(verify, request) || check(verify, forgedRequest)) {
            throw new IllegalStateException("the benchmark's tokens do not verify as they should");
        }
    }

    private boolean check(StatelessDispatch d, MemorySegment data) {
        d.handle(peer, data, DatagramFacts.NONE);
        return lastVerdict;
    }

    private static StatelessDispatch dispatch(DatagramHandler handler) {
        return new StatelessDispatch(handler, null, new CallbackClock(),
                new ErrorLog(LoggerFactory.getLogger(AddressTokensBenchmark.class)), new Counters());
    }

    /** The baseline: the dispatch of one datagram to a handler that does nothing. */
    @Benchmark
    public void dispatch() {
        nothing.handle(peer, request, DatagramFacts.NONE);
    }

    /** A valid token verified. */
    @Benchmark
    public boolean verify() {
        verify.handle(peer, request, DatagramFacts.NONE);
        return lastVerdict;
    }

    /** A token with one bit of its hash flipped: refused. */
    @Benchmark
    public boolean forged() {
        verify.handle(peer, forgedRequest, DatagramFacts.NONE);
        return lastVerdict;
    }

    /** A fresh token written into a reply. */
    @Benchmark
    public void issue(Blackhole bh) {
        issue.handle(peer, request, DatagramFacts.NONE);
        bh.consume(reply);
    }
}
