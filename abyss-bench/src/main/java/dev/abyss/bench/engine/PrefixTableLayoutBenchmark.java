package dev.abyss.bench.engine;

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

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The rate table's layouts side by side, without the hash or the rules: one GCRA update of a
 * random bucket of a 2^20-bucket table of {@code long} (8 MiB, the first layout), {@code int}
 * (4 MiB, {@code ReplyRates} now) or {@code short} (2 MiB), by compare-and-set (a table the
 * acceptors share) or by a plain store (a table one acceptor would own).
 * <ul>
 *   <li>back to back ({@code long_cas}, ...): the next update does not wait for this one, so the
 *       core overlaps their cache misses (what {@code ReplyLimitBenchmark} measures);</li>
 *   <li>{@code ..._chained}: the next bucket depends on what this one read, so every miss is
 *       paid in full, as in a server, where a whole datagram's work separates two checks.</li>
 * </ul>
 * {@code bin/bench PrefixTableLayout}. The buckets come from an array filled beforehand.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(1)
public class PrefixTableLayoutBenchmark {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle INTS = MethodHandles.arrayElementVarHandle(int[].class);
    private static final VarHandle SHORTS = MethodHandles.arrayElementVarHandle(short[].class);
    private static final int BUCKETS = 1 << 20;

    /** Distinct buckets visited in turn: 1k stays in L1/L2, 1M covers the table. */
    @Param({"1000", "1000000"})
    public int spread;

    private int[] buckets;
    private int next;
    private final long[] longs = new long[BUCKETS];
    private final int[] ints = new int[BUCKETS];
    private final short[] shorts = new short[BUCKETS];
    /** Always 0, but the compiler cannot know: makes the next bucket depend on the last read. */
    private int zero;
    private int last;
    private long now = 1;

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(7);
        buckets = new int[spread];
        for (int i = 0; i < spread; i++) {
            buckets[i] = random.nextInt(BUCKETS);
        }
    }

    private int bucket() {
        int i = next;
        next = i + 1 == buckets.length ? 0 : i + 1;
        if ((i & 31) == 0) {
            now += 1_000; // the clock moves on (a tick per batch), so no bucket runs out of budget
        }
        return buckets[i];
    }

    private int chained() {
        return bucket() ^ (last & zero);
    }

    // the same update in each: the bucket's time moves one interval past max(its time, now)

    @Benchmark
    public boolean long_cas() {
        int b = bucket();
        long tat = (long) LONGS.getOpaque(longs, b);
        return LONGS.compareAndSet(longs, b, tat, Math.max(tat, now) + 1);
    }

    @Benchmark
    public boolean long_cas_chained() {
        int b = chained();
        long tat = (long) LONGS.getOpaque(longs, b);
        last = (int) tat;
        return LONGS.compareAndSet(longs, b, tat, Math.max(tat, now) + 1);
    }

    @Benchmark
    public void long_plain() {
        int b = bucket();
        longs[b] = Math.max(longs[b], now) + 1;
    }

    @Benchmark
    public boolean int_cas() {
        int b = bucket();
        int tat = (int) INTS.getOpaque(ints, b);
        return INTS.compareAndSet(ints, b, tat, Math.max(tat, (int) now) + 1);
    }

    @Benchmark
    public boolean int_cas_chained() {
        int b = chained();
        int tat = (int) INTS.getOpaque(ints, b);
        last = tat;
        return INTS.compareAndSet(ints, b, tat, Math.max(tat, (int) now) + 1);
    }

    @Benchmark
    public void int_plain() {
        int b = bucket();
        ints[b] = Math.max(ints[b], (int) now) + 1;
    }

    @Benchmark
    public void int_plain_chained() {
        int b = chained();
        int tat = ints[b];
        last = tat;
        ints[b] = Math.max(tat, (int) now) + 1;
    }

    @Benchmark
    public boolean short_cas() {
        int b = bucket();
        short tat = (short) SHORTS.getOpaque(shorts, b);
        return SHORTS.compareAndSet(shorts, b, tat, (short) (Math.max(tat, (short) now) + 1));
    }

    @Benchmark
    public boolean short_cas_chained() {
        int b = chained();
        short tat = (short) SHORTS.getOpaque(shorts, b);
        last = tat;
        return SHORTS.compareAndSet(shorts, b, tat, (short) (Math.max(tat, (short) now) + 1));
    }
}
