package dev.abyss.bench.load;

import dev.abyss.server.Abyss;
import dev.abyss.server.SegmentHandler;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The load generator against real servers that echo, corrupt and drop: it must tell them apart. */
@Timeout(60)
class LoadGeneratorTest {

    private static LoadResult load(SegmentHandler h, long count) throws Exception {
        try (Server server = Abyss.start(ServerConfig.builder().segmentHandler(h).numAcceptors(1).shutdownTimeout(Duration.ZERO).build())) {
            InetSocketAddress at = (InetSocketAddress) server.localAddress();
            return LoadGenerator.run(new LoadOptions(at, 4, 8, 100, Duration.ofSeconds(20), count, 0, false, 1, false));
        }
    }

    @Test
    void aCorrectEchoServerHasNothingLostOrCorrupt() throws Exception {
        LoadResult r = load((s, data) -> s.send(data), 5_000);
        assertTrue(r.echoed() >= 5_000, r.table());
        assertEquals(0, r.corrupt(), r.table());
        assertEquals(r.sent(), r.echoed() + r.lost(), "every datagram is echoed or lost");
        assertTrue(r.p50Micros() > 0 && r.p50Micros() <= r.p99Micros() && r.p99Micros() <= r.maxMicros(), r.table());
        assertTrue(r.json().contains("\"corrupt\":0"), r.json());
    }

    @Test
    void flippedBytesAreCountedAsCorrupt() throws Exception {
        AtomicLong n = new AtomicLong();
        LoadResult r = load((s, data) -> {
            byte[] copy = data.toArray(JAVA_BYTE);
            if (n.incrementAndGet() % 10 == 0) {
                copy[copy.length - 1] ^= 1; // one bit of the pattern
            }
            s.send(copy);
        }, 3_000);
        assertTrue(r.corrupt() > 0, r.table());
        assertEquals(r.sent(), r.echoed() + r.corrupt() + r.lost(), r.table());
        long served = n.get();
        assertTrue(Math.abs(r.corrupt() - served / 10) <= 1, "one in ten: " + r.corrupt() + " of " + served);
    }

    @Test
    void unansweredDatagramsAreCountedAsLost() throws Exception {
        AtomicLong n = new AtomicLong();
        LoadResult r = load((s, data) -> {
            if (n.incrementAndGet() % 5 != 0) {
                s.send(data);
            }
        }, 2_000);
        assertEquals(0, r.corrupt());
        assertEquals(n.get() / 5, r.lost(), "one in five never answered: " + r.table());
    }

    @Test
    void badOptionsNameTheOptionAndValue() {
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", 9);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LoadOptions(at, 0, 1, 64, Duration.ofSeconds(1), 0, 0, false, 1, false))
                .getMessage().contains("--peers must be 1..60000, was 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LoadOptions(at, 1, 1, 8, Duration.ofSeconds(1), 0, 0, false, 1, false))
                .getMessage().contains("--size"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoadGenerator.duration("10 parsecs")).getMessage().contains("parsecs"));
    }
}
