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
 * What the reply limits cost per datagram ({@link ReplyLimits#check}: the keyed hash of the source
 * prefix, one compare-and-set on the shared {@link ReplyRates} table, the amplification budget of
 * a stateless request), with 1k, 100k and 1M distinct /24 prefixes tracked in the default table of
 * 2^20 buckets. The peers come from arrays filled before the run (no random numbers drawn while
 * measuring; the arrays are read in order, which the hardware prefetches), decoded into one reused
 * {@link PeerKey} as a transport does, and the clock ticks once per 32 checks as an acceptor's
 * does once per receive batch.
 * <ul>
 *   <li>{@code check}: the prefixes take turns in a shuffled order (every one as busy as the
 *       others: at 1M, each check goes to a bucket not touched for a million checks, the worst case);</li>
 *   <li>{@code checkSkewed}: the traffic a server sees, few prefixes sending most of it: each check's
 *       prefix drawn (beforehand) from a Zipf distribution (s = 1) over the {@code prefixes}, so at
 *       1M the busiest thousand send about half;</li>
 *   <li>{@code checkOnePrefix}: every reply to one prefix (a flood naming one victim, the replies
 *       of one request): the last prefix's bucket is kept, no hash;</li>
 *   <li>{@code hashOnly}: the prefix and its bucket alone, to tell the hash from the table;</li>
 *   <li>{@code peerOnly}: the benchmark's own work (the next peer decoded), to subtract.</li>
 * </ul>
 *
 * <p>{@code bin/bench ReplyLimit -prof gc}: the target is at most 20 ns and 0 B per datagram at 1M.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ReplyLimitBenchmark {
    /** Checks per clock tick: an acceptor ticks once per receive batch. */
    private static final int BATCH = 32;
    /** Draws of the skewed sequence (4 Mi: every prefix of 1M appears in it, the busy ones often). */
    private static final int SKEWED_DRAWS = 1 << 22;

    @Param({"1000", "100000", "1000000"})
    public int prefixes;

    private int[] addresses;
    private int[] skewed;
    private int next;
    private int nextSkewed;
    private int untilTick = BATCH;
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
        skewed = zipf(random, prefixes, SKEWED_DRAWS);
        table = new Prefixes(24, 56, 1 << 20);
        // a rate no benchmark reaches (1e9 a second per prefix, the clock ticking): every reply is
        // allowed, so each one takes the CAS (the costlier way)
        limits = new ReplyLimits(table, new ReplyRates(1_000_000_000, 1_000_000, table.buckets()), 3, 2);
        limits.tick(System.nanoTime());
    }

    /** {@code draws} addresses drawn from Zipf(1) over the first {@code n} (already shuffled) addresses. */
    private int[] zipf(SplittableRandom random, int n, int draws) {
        double[] cumulative = new double[n];
        double sum = 0;
        for (int rank = 0; rank < n; rank++) {
            sum += 1.0 / (rank + 1);
            cumulative[rank] = sum;
        }
        int[] out = new int[draws];
        for (int i = 0; i < draws; i++) {
            double u = random.nextDouble() * sum;
            int lo = 0;
            int hi = n - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cumulative[mid] < u) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            out[i] = addresses[lo];
        }
        return out;
    }

    private PeerKey nextPeer() {
        int i = next;
        next = i + 1 == addresses.length ? 0 : i + 1;
        return key.setInet4(addresses[i], 53, false);
    }

    private PeerKey nextSkewedPeer() {
        int i = nextSkewed;
        nextSkewed = i + 1 == skewed.length ? 0 : i + 1;
        return key.setInet4(skewed[i], 53, false);
    }

    private void clock() {
        if (--untilTick == 0) {
            untilTick = BATCH;
            limits.tick(System.nanoTime());
        }
    }

    private Drop reply(PeerKey peer) {
        clock();
        limits.beginRequest(40);
        Drop d = limits.check(null, peer, 40);
        limits.endRequest();
        return d;
    }

    /** One stateless reply of 40 B to a request of 40 B (amplification budget and rate), the prefixes taking turns. */
    @Benchmark
    public Drop check() {
        return reply(nextPeer());
    }

    /** The same, the prefixes drawn from a Zipf distribution: a few busy, most quiet. */
    @Benchmark
    public Drop checkSkewed() {
        return reply(nextSkewedPeer());
    }

    /** Every reply to one prefix (a flood naming one victim, the replies of one request): the bucket of the last prefix is kept. */
    @Benchmark
    public Drop checkOnePrefix() {
        return reply(key.setInet4(addresses[0], 53, false));
    }

    /** The prefix and its bucket only. */
    @Benchmark
    public int hashOnly() {
        return table.bucketOf(nextPeer());
    }

    /** The benchmark's own work per check: the next peer, decoded. */
    @Benchmark
    public long peerOnly() {
        return nextPeer().lo();
    }
}
