package dev.abyss.bench;

import dev.abyss.server.Abyss;
import dev.abyss.server.PathMtuDiscovery;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.UdpOption;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Locale;

/**
 * What the acceptor thread allocates per datagram with the listen options on the receive path: a
 * stateless echo bound to {@code 0.0.0.0} (IP_PKTINFO read per datagram) whose handler reads
 * {@code DatagramInfo.ttl()}, with RECEIVE_TTL, TTL and MTU_DISCOVER set (the baseline:
 * the same server without it, in the same run). A client sends 1-byte requests one at a time,
 * 20,000 per round; the acceptor's allocated bytes (the JDK's per-thread counter) are divided by the
 * datagrams it received. The first round includes warm-up.
 *
 * <p>{@code bin/bench main dev.abyss.bench.ListenOptionsAllocation [EPOLL|IO_URING] [ROUNDS]}
 */
public final class ListenOptionsAllocation {
    private ListenOptionsAllocation() {
    }

    public static void main(String[] args) throws Exception {
        TransportKind kind = args.length > 0 ? TransportKind.valueOf(args[0].toUpperCase(Locale.ROOT)) : TransportKind.EPOLL;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        for (boolean receiveTtl : new boolean[]{false, true}) {
            long[] ttlSum = new long[1];
            ServerConfig.Builder b = ServerConfig.builder().transport(kind).bindAddress(InetAddress.getByName("0.0.0.0"))
                    .numAcceptors(1).shutdownTimeout(Duration.ZERO)
                    .datagramHandler((peer, data) -> {
                        ttlSum[0] += peer.datagram().ttl();
                        peer.send(data);
                    });
            if (receiveTtl) {
                b.socketOption(UdpOption.RECEIVE_TTL, true).socketOption(UdpOption.TTL, 64)
                        .socketOption(UdpOption.MTU_DISCOVER, PathMtuDiscovery.OMIT);
            }
            try (Server server = Abyss.start(b.build());
                 java.nio.channels.DatagramChannel client = java.nio.channels.DatagramChannel.open()
                         .bind(new InetSocketAddress("127.0.0.1", 0))) {
                var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
                Thread acceptor = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("abyss-acceptor")).findFirst().orElseThrow();
                InetSocketAddress to = new InetSocketAddress("127.0.0.1", ((InetSocketAddress) server.localAddress()).getPort());
                ByteBuffer request = ByteBuffer.allocate(1);
                ByteBuffer reply = ByteBuffer.allocate(64);
                for (int round = 0; round < rounds; round++) {
                    long allocatedBefore = threads.getThreadAllocatedBytes(acceptor.threadId());
                    long inBefore = server.stats().datagramsIn();
                    for (int i = 0; i < 20_000; i++) {
                        client.send(request.clear(), to);
                        client.receive(reply.clear());
                    }
                    long allocated = threads.getThreadAllocatedBytes(acceptor.threadId()) - allocatedBefore;
                    long in = server.stats().datagramsIn() - inBefore;
                    System.out.printf(Locale.ROOT, "%s receiveTtl=%s round %d: %,d B allocated on the acceptor thread for %,d"
                            + " datagrams (%.3f B/datagram); TTL sum %d%n", kind, receiveTtl, round, allocated, in,
                            (double) allocated / in, ttlSum[0]);
                }
            }
        }
    }
}
