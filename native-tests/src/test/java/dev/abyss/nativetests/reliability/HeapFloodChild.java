package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.FullTablePolicy;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.testsupport.Await;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Child JVM of {@link FloodTest#largeDatagramsOfNewPeersCannotExhaustTheHeap}: a server (REFUSE,
 * cap 1, 2 retries) whose only place is held by an established peer, then {@code peers} new peers
 * each sending one datagram of {@code size} bytes, paced so the server receives most of them. Prints
 * its figures as a RESULT line; exits 0 unless something failed (an OutOfMemoryError ends it with
 * code 3 under -XX:+ExitOnOutOfMemoryError).
 *
 * <p>Arguments: transport kind, number of new peers, datagram size.
 */
public final class HeapFloodChild {
    private HeapFloodChild() {
    }

    public static void main(String[] args) throws Exception {
        TransportKind kind = TransportKind.valueOf(args[0]);
        int peers = Integer.parseInt(args[1]);
        int size = Integer.parseInt(args[2]);
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                session.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        Server server = Abyss.start(ServerConfig.builder().handler(echo).transport(kind).bindAddress(loopback)
                .numAcceptors(2).numConnections(1).fullTablePolicy(FullTablePolicy.REFUSE)
                .maxConnectionsRetryCount(2).maxConnectionsRetryWait(Duration.ofMillis(200))
                .readTimeout(Duration.ofMinutes(10)).shutdownTimeout(Duration.ofMillis(200)).build());
        try (DatagramSocket established = new DatagramSocket(new InetSocketAddress(loopback, 0));
             ManyPeers flood = new ManyPeers(server.localAddress())) {
            established.setSoTimeout(5000);
            String first = exchange(established, server, "hold the only place");
            if (!"hold the only place".equals(first)) {
                throw new AssertionError("the established peer got no first answer: " + first);
            }
            long heapBefore = Reliability.heapAfterGc();
            long rssBefore = Reliability.rssKiB();
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    pool.resetPeakUsage();
                }
            }
            long sent = 0;
            int burst = 32; // ~2 MB: half the 4 MiB receive buffer the server asks for
            for (int start = 0; start < peers; start += burst) {
                int end = Math.min(peers, start + burst);
                for (int n = start; n < end; n++) {
                    while (!flood.send(n, size)) {
                        Thread.onSpinWait();
                    }
                    sent++;
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                while (server.stats().datagramsIn() - 1 < end && System.nanoTime() < deadline) {
                    Thread.onSpinWait(); // paced by the server, so most datagrams reach it
                }
            }
            // the waiting datagrams go after their retries (2 x 200 ms): then everything received is counted
            Await.await("every datagram of the flood counted as dropped (datagramsIn - 1 == droppedTableFull)", Duration.ofSeconds(20),
                    server::stats, st -> st.datagramsIn() - 1 == st.droppedTableFull());
            long heapPeak = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    heapPeak += pool.getPeakUsage().getUsed();
                }
            }
            String after = exchange(established, server, "still served");
            long heapAfter = Reliability.heapAfterGc();
            long rssAfter = Reliability.rssKiB();
            ServerStats st = server.stats();
            long floodReceived = st.datagramsIn() - 2; // the established peer's two datagrams
            Reliability.result("sent", sent, "floodReceived", floodReceived, "droppedTableFull", st.droppedTableFull(),
                    "kernelDrops", st.kernelDrops(), "sessionsOpened", st.sessionsOpened(), "acceptorFailures", st.acceptorFailures(),
                    "heapBeforeMiB", heapBefore >> 20, "heapAfterMiB", heapAfter >> 20, "heapPeakMiB", heapPeak >> 20,
                    "rssBeforeMiB", rssBefore >> 10, "rssAfterMiB", rssAfter >> 10,
                    "answeredAfter", "still served".equals(after), "failure", server.failure().map(Throwable::toString).orElse("none"));
        } finally {
            server.stop(Duration.ZERO);
        }
        System.exit(0);
    }

    private static String exchange(DatagramSocket s, Server server, String text) throws java.io.IOException {
        byte[] b = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        s.send(new DatagramPacket(b, b.length, server.localAddress()));
        byte[] in = new byte[2048];
        DatagramPacket p = new DatagramPacket(in, in.length);
        try {
            s.receive(p);
        } catch (java.net.SocketTimeoutException e) {
            return null;
        }
        return new String(in, 0, p.getLength(), java.nio.charset.StandardCharsets.UTF_8);
    }
}
