package dev.abyss.bench;

import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;


/**
 * The INLINE echo round trip over loopback: {@code peers} connected blocking client sockets each
 * send one 64-byte datagram, then each reads its echo. One op = one datagram echoed. Client and
 * server share the JVM, so {@code -prof gc}'s B/op bounds what the server allocates per datagram.
 *
 * <p>B/op of {@code -prof gc} includes the client's allocation (its write/read calls); after each
 * iteration the benchmark prints what the acceptor thread alone allocated per datagram.
 * With {@code peers} = 16 one op echoes 16 datagrams.
 *
 * <p>Per transport ({@code transport}) and API ({@code api}: SegmentHandler, Handler, the
 * stateless DatagramHandler, and the same with the open-internet reply limits on below their rate). {@code java -jar abyss-bench/target/benchmarks.jar EchoRoundTrip -prof gc}
 */
@State(Scope.Benchmark)
public class EchoRoundTripBenchmark extends EchoBenchmarkBase {
    /** datagram-limited: the stateless echo with the reply limits on at a rate it never reaches (10M/s per prefix, 3x). */
    @Param({"segment", "handler", "datagram", "datagram-limited"})
    public String api;

    @Param({"EPOLL", "IO_URING", "NIO"})
    public String transport;

    @Param({"1", "16"})
    public int peers;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        ServerConfig.Builder b = EchoFixture.oneAcceptor().transport(TransportKind.valueOf(transport));
        switch (api) {
            case "segment" -> b.segmentHandler((session, data) -> session.send(data));
            case "datagram" -> b.datagramHandler((peer, data) -> peer.send(data));
            case "datagram-limited" -> b.datagramHandler((peer, data) -> peer.send(data)).rateLimit(10_000_000).amplificationLimit(3);
            default -> b.handler(new Echo());
        }
        echo = new EchoFixture(b.build(), peers, 64);
    }
}
