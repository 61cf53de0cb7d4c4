package dev.abyss.bench;

import dev.abyss.server.examples.Echo;
import dev.abyss.server.telemetry.Telemetry;
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

import java.util.concurrent.TimeUnit;

/**
 * What telemetry costs on the INLINE echo path (Handler, 16 peers, 64 bytes): {@code removed} (every
 * {@code enabled()} a JIT constant false: as if telemetry were not built in), {@code detached} (the
 * default: nothing listens) and {@code trace} (a listener on every event, as {@code --log trace}
 * without the printing). Each value runs in its own JVM fork.
 *
 * <p>{@code java -jar abyss-bench/target/benchmarks.jar TelemetryCost -prof gc}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class TelemetryCostBenchmark {
    @Param({"removed", "detached", "trace"})
    public String telemetry;

    private EchoFixture echo;
    private volatile long sink;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        // before the first server: the flag is read once, when the telemetry classes load
        System.setProperty("abyss.telemetry.removed", String.valueOf(telemetry.equals("removed")));
        if (telemetry.equals("trace")) {
            Telemetry.attach("bench", "abyss", e -> sink += e.measurements().size());
        }
        echo = new EchoFixture(EchoFixture.oneAcceptor().handler(new Echo()).build(), 16, 64);
    }

    @Setup(Level.Iteration)
    public void markAllocation() {
        echo.markAllocation();
    }

    @TearDown(Level.Iteration)
    public void reportAllocation() {
        echo.reportAllocation();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        echo.close();
        Telemetry.detach("bench");
    }

    /** One op = 16 datagrams echoed. */
    @Benchmark
    public long roundTrip() {
        return echo.roundTrip();
    }
}
