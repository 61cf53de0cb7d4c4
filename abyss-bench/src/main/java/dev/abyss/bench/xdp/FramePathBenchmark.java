package dev.abyss.bench.xdp;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.transport.ViewCache;
import dev.abyss.server.transport.xdp.FrameCheck;
import dev.abyss.server.transport.xdp.FrameParser;
import dev.abyss.server.transport.xdp.FrameWriter;
import dev.abyss.server.transport.xdp.NextHop;
import dev.abyss.server.transport.xdp.ReceivedFrame;
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
import java.util.concurrent.TimeUnit;

/**
 * The AF_XDP transport's per-datagram frame work alone, no system calls: check a received frame
 * (Ethernet, IP, UDP, both checksums verified), take the engine's read-only view of its payload,
 * build the echo reply in a free UMEM frame (payload copied, headers and both checksums written).
 * Rows: {@code parse} (check + facts + view), {@code reply} (build only), {@code echo} (all of it:
 * the frame path of one request/response). Frames sit at an odd offset of native memory, as in a
 * UMEM with headroom. Run with {@code -prof gc}: every row must show ~0 B/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class FramePathBenchmark {
    private static final int FRAME = 4096;
    private static final int HEADROOM = 257;

    @Param({"ipv4", "ipv6"})
    public String family;

    @Param({"64", "1200"})
    public int payload;

    private Arena arena;
    private MemorySegment umem;
    private int requestLength;
    private FrameParser parser;
    private final FrameWriter writer = new FrameWriter(64, 64, true);
    private final ReceivedFrame frame = new ReceivedFrame();
    private final ViewCache views = new ViewCache(2, 1);
    private PeerKey server;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofConfined();
        umem = arena.allocate(2L * FRAME, 4096);
        boolean v6 = family.equals("ipv6");
        server = new PeerKey().set(new InetSocketAddress(v6 ? "fd00::1" : "198.18.0.1", 5353));
        PeerKey client = new PeerKey().set(new InetSocketAddress(v6 ? "fd00::2" : "198.18.0.2", 40000));
        // the request, built by the codec as the client's stack would send it
        NextHop toServer = new NextHop().set(0x02_00_00_00_00_01L, 0x02_00_00_00_00_02L, NextHop.UNTAGGED);
        MemorySegment data = arena.allocate(payload);
        for (int i = 0; i < payload; i++) {
            data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (i * 31));
        }
        requestLength = writer.write(umem, HEADROOM, FRAME - HEADROOM, toServer, server, client, 0, data, 0, payload);
        // a wildcard bind: the parser reports the destination, the reply's source, as IP_PKTINFO would
        parser = new FrameParser(new PeerKey().set(new InetSocketAddress(v6 ? "::" : "0.0.0.0", 5353)), false, 2, true, true,
                2048);
        if (parser.parse(umem, HEADROOM, requestLength, frame) != FrameCheck.OK || echo() <= 0) {
            throw new IllegalStateException("the benchmark's frames do not parse");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** Check + facts + the engine's view of the payload. */
    @Benchmark
    public MemorySegment parse() {
        if (parser.parse(umem, HEADROOM, requestLength, frame) != FrameCheck.OK) {
            throw new IllegalStateException();
        }
        return views.view(umem, 0, 0, frame.payloadOffset(), frame.payloadLength());
    }

    /** The reply alone: payload copied into a free frame, headers and checksums written (the last parse's facts). */
    @Benchmark
    public int reply() {
        return writer.write(umem, FRAME + HEADROOM, FRAME - HEADROOM, frame.hop(), frame.source(), frame.destinationKey(),
                frame.trafficClass(), umem, frame.payloadOffset(), frame.payloadLength());
    }

    /** One request/response's frame work: parse, view, reply. */
    @Benchmark
    public int echo() {
        if (parser.parse(umem, HEADROOM, requestLength, frame) != FrameCheck.OK) {
            throw new IllegalStateException();
        }
        MemorySegment view = views.view(umem, 0, 0, frame.payloadOffset(), frame.payloadLength());
        return writer.write(umem, FRAME + HEADROOM, FRAME - HEADROOM, frame.hop(), frame.source(), frame.destinationKey(),
                frame.trafficClass(), view, 0, (int) view.byteSize());
    }
}
