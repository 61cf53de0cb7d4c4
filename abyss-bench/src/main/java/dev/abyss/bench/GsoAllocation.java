package dev.abyss.bench;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Locale;

/**
 * What the acceptor thread allocates on the GSO send path: a stateless server answers each 1-byte
 * request with 64 × 1,200 bytes through {@code Peer.sendSegments} (coalesced into UDP_SEGMENT
 * sends), a client asks 20,000 times per round, and the acceptor thread's allocated bytes (the
 * JDK's per-thread counter) are divided by the datagrams it sent. The first round includes warm-up.
 *
 * <p>{@code bin/bench main dev.abyss.bench.GsoAllocation [EPOLL|IO_URING]}
 */
public final class GsoAllocation {
    private GsoAllocation() {
    }

    public static void main(String[] args) throws Exception {
        TransportKind kind = args.length > 0 ? TransportKind.valueOf(args[0].toUpperCase(Locale.ROOT)) : TransportKind.EPOLL;
        MemorySegment bulk = Arena.global().allocate(64 * 1_200);
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).bindAddress(InetAddress.getByName("127.0.0.1"))
                .numAcceptors(1).shutdownTimeout(Duration.ZERO)
                .datagramHandler((peer, data) -> peer.sendSegments(bulk, 0, bulk.byteSize(), 1_200)).build());
             DatagramChannel client = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            Thread acceptor = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("abyss-acceptor")).findFirst().orElseThrow();
            client.setOption(StandardSocketOptions.SO_RCVBUF, 8 << 20);
            ByteBuffer request = ByteBuffer.allocate(1);
            ByteBuffer reply = ByteBuffer.allocate(2_048);
            for (int round = 0; round < 3; round++) {
                long allocatedBefore = threads.getThreadAllocatedBytes(acceptor.threadId());
                long sentBefore = server.stats().datagramsOut();
                for (int i = 0; i < 20_000; i++) {
                    client.send(request.clear(), server.localAddress());
                    for (int k = 0; k < 64; k++) {
                        client.receive(reply.clear());
                    }
                }
                long allocated = threads.getThreadAllocatedBytes(acceptor.threadId()) - allocatedBefore;
                long sent = server.stats().datagramsOut() - sentBefore;
                System.out.printf(Locale.ROOT, "%s round %d: %,d B allocated on the acceptor thread for %,d datagrams sent "
                        + "(%.3f B/datagram); GSO sends so far %,d%n", kind, round, allocated, sent, (double) allocated / sent,
                        server.stats().gsoSends());
            }
        }
    }
}
