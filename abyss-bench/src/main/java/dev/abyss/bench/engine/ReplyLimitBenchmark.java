package dev.abyss.bench.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.outbound.ReplyLimits;
import dev.abyss.server.engine.outbound.ReplyRates;
import dev.abyss.server.engine.prefix.Prefixes;
import dev.abyss.server.engine.telemetry.Drop;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * What the reply limits cost per datagram ({@link ReplyLimits#check}: the keyed SipHash of the
 * source prefix, one compare-and-set on the shared {@link ReplyRates} table, the amplification
 * budget of a stateless request), with 1k, 100k and 1M distinct /24 prefixes taking turns in a
 * shuffled order over the default table of 2^20 buckets (8 MiB): at 1M every lookup misses the
 * caches, the worst case. The peer is decoded into one reused {@link PeerKey}, as a transport does.
 * {@code hashOnly} is the prefix and bucket alone, to tell the hash from the table;
 * {@code checkOnePrefix} every reply to one prefix (a flood naming one victim), where the hash is skipped.
 *
 * <p>{@code bin/bench ReplyLimit -prof gc}: the target is at most 20 ns and 0 B per datagram at 1M.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ReplyLimitBenchmark {
    @Param({"1000", "100000", "1000000"})
    public int prefixes;

    private int[] addresses;
    private int next;
    private final PeerKey key = new PeerKey();
    private Prefixes table;
    private ReplyLimits limits;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(19);
        addresses = new int[prefixes];
        for (int i = 0; i < prefixes; i++) {
            addresses[i] = (0x0A00_0000 + i) << 8 | 1; // one host in each of `prefixes` /24s (wraps past 10/8: still distinct)
        }
        for (int i = prefixes - 1; i > 0; i--) { // a shuffled order: no two neighbours in the table by accident
            int j = random.nextInt(i + 1);
            int t = addresses[i];
            addresses[i] = addresses[j];
            addresses[j] = t;
        }
        table = new Prefixes(24, 56, 1 << 20);
        // a rate no benchmark reaches: every reply is allowed, so each one takes the CAS (the costlier way)
        limits = new ReplyLimits(table, new ReplyRates(1_000_000_000, 1_000_000_000, table.buckets()), 3, 2);
        limits.tick(System.nanoTime());
    }

    private PeerKey nextPeer() {
        int i = next;
        next = i + 1 == addresses.length ? 0 : i + 1;
        return key.setInet4(addresses[i], 53, false);
    }

    /** One stateless reply of 40 B to a request of 40 B: amplification budget and rate. */
    @Benchmark
    public Drop check() {
        PeerKey peer = nextPeer();
        limits.beginRequest(40);
        Drop d = limits.check(null, peer, 40);
        limits.endRequest();
        return d;
    }

    /** Every reply to one prefix (a flood naming one victim, the replies of one request): the bucket of the last prefix is kept. */
    @Benchmark
    public Drop checkOnePrefix() {
        key.setInet4(addresses[0], 53, false);
        limits.beginRequest(40);
        Drop d = limits.check(null, key, 40);
        limits.endRequest();
        return d;
    }

    /** The prefix and its bucket only. */
    @Benchmark
    public int hashOnly() {
        return table.bucketOf(nextPeer());
    }
}
