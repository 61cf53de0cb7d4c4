package dev.abyss.bench;

import dev.abyss.server.examples.Echo;
import dev.abyss.server.telemetry.Telemetry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;


/**
 * What telemetry costs on the INLINE echo path (Handler, 16 peers, 64 bytes): {@code removed} (every
 * {@code enabled()} a JIT constant false: as if telemetry were not built in), {@code detached} (the
 * default: nothing listens) and {@code trace} (a listener on every event, as {@code --log trace}
 * without the printing). Each value runs in its own JVM fork.
 *
 * <p>{@code java -jar abyss-bench/target/benchmarks.jar TelemetryCost -prof gc}
 */
@State(Scope.Benchmark)
public class TelemetryCostBenchmark extends EchoBenchmarkBase {
    @Param({"removed", "detached", "trace"})
    public String telemetry;

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

    @TearDown(Level.Trial)
    public void detach() {
        Telemetry.detach("bench");
    }
}
