package dev.abyss.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The round trip over an {@link EchoFixture} that the echo benchmarks share: a subclass builds
 * {@link #echo} in its trial setup; this class measures, prints the acceptor thread's own
 * allocation after each iteration, and closes the fixture.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public abstract class EchoBenchmarkBase {
    protected EchoFixture echo;

    /** The acceptor thread's own allocation, apart from the client's: printed after each iteration. */
    @Setup(Level.Iteration)
    public void markAllocation() {
        echo.markAllocation();
    }

    @TearDown(Level.Iteration)
    public void reportAllocation() {
        echo.reportAllocation();
    }

    @TearDown(Level.Trial)
    public void closeFixture() {
        echo.close();
    }

    /** One op: every peer sends a datagram, then reads its echo. */
    @Benchmark
    public long roundTrip() {
        return echo.roundTrip();
    }
}
