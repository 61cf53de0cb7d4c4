package dev.abyss.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Internet-scale peers: request/response without sessions (DatagramHandler), and a full table that
 * evicts one-shot peers while established ones keep talking. Sizes are CI-sized by default;
 * {@code -Dabyss.scale.peers=100000 -Dabyss.scale.cap=10000} runs the full scenario.
 */
@Timeout(120)
class PeersAtScaleTest extends TransportSuite {
    private static final int PEERS = Integer.getInteger("abyss.scale.peers", 20_000);
    private static final int CAP = Integer.getInteger("abyss.scale.cap", 2_000);

    /** Sends one datagram from each of {@code peers} sources, in bursts so no buffer overflows; returns the peers answered. */
    private static BitSet oneShotPeers(SpreadClient spread, int first, int peers, Runnable betweenBursts) throws InterruptedException {
        BitSet answered = new BitSet();
        int burst = 256;
        for (int start = first; start < first + peers; start += burst) {
            int end = Math.min(first + peers, start + burst);
            for (int n = start; n < end; n++) {
                while (!spread.send(n, 32)) {
                    drain(spread, answered);
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (answered.get(start, end).cardinality() < end - start && System.nanoTime() < deadline) {
                if (!drain(spread, answered)) {
                    Thread.onSpinWait();
                }
            }
            betweenBursts.run();
        }
        return answered;
    }

    private static boolean drain(SpreadClient spread, BitSet answered) {
        boolean any = false;
        int n;
        while ((n = spread.receive()) >= 0) {
            answered.set(n);
            any = true;
        }
        return any;
    }

    @Test
    void aDatagramHandlerAnswersEveryPeerWithoutSessionsOrTimers() throws Exception {
        AtomicReference<Peer> kept = new AtomicReference<>();
        LinkedBlockingQueue<SocketAddress> later = new LinkedBlockingQueue<>();
        DatagramHandler echo = (peer, data) -> {
            kept.set(peer);
            if (data.byteSize() == 1) {
                later.add(peer.remoteAddress()); // answered later, from another thread
            } else {
                peer.send(data);
            }
        };
        try (Server server = start(builder().datagramHandler(echo).bindAddress(InetAddress.getLoopbackAddress())
                .shutdownTimeout(Duration.ofMillis(100)).build());
             SpreadClient spread = new SpreadClient(server.localAddress())) {
            int peers = Math.min(PEERS, 10_000);
            BitSet answered = oneShotPeers(spread, 0, peers, () -> assertEquals(0, server.sessions(), "no session is ever opened"));
            assertEquals(peers, answered.cardinality(), "every peer answered");
            ServerStats st = server.stats();
            assertEquals(0, st.sessionsOpened());
            assertEquals(peers, st.datagramsIn());
            await("replies counted in the server's totals", server::stats, now -> now.datagramsOut() == peers);
            assertEquals(peers * 32L, server.stats().bytesOut());

            assertThrows(IllegalStateException.class, () -> kept.get().send(new byte[1]),
                    "a Peer outside its callback fails loudly");
            try (Client c = new Client(server.localAddress())) {
                c.send(new byte[1]);
                SocketAddress to = later.poll(5, TimeUnit.SECONDS);
                Thread replier = Thread.ofVirtual().start(() -> server.send(to, MemorySegment.ofArray("later".getBytes())));
                replier.join();
                assertEquals("later", c.receive(5000), "Server.send reaches the peer from another thread");
            }
        }
    }

    @Test
    void aHandlerThatThrowsIsCountedAndTheNextDatagramIsServed() throws Exception {
        DatagramHandler h = (peer, data) -> {
            if (data.byteSize() == 3) {
                throw new IllegalStateException("bad query");
            }
            peer.send(data);
        };
        try (Server server = start(builder().datagramHandler(h).shutdownTimeout(Duration.ofMillis(100)).build());
             Client c = new Client(server.localAddress())) {
            for (int i = 0; i < 100; i++) {
                c.send("bad");
            }
            c.send("good");
            assertEquals("good", c.receive(5000));
            await("every failure counted", server::stats, st -> st.handlerErrors() == 100);
        }
    }

    @Test
    void aFullTableEvictsOneShotPeersWhileEstablishedPeersKeepTalking() throws Exception {
        AtomicInteger timeouts = new AtomicInteger();
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                session.send(data);
                return HandlerResult.continueWith(state);
            }

            @Override
            public void handleTimeout(Object state) {
                timeouts.incrementAndGet(); // the terminal callback of an evicted session
            }
        };
        try (Server server = start(builder().handler(echo).bindAddress(InetAddress.getLoopbackAddress())
                .numAcceptors(2).numConnections(CAP).readTimeout(Duration.ofMinutes(5))
                .shutdownTimeout(Duration.ofMillis(200)).build());
             SpreadClient spread = new SpreadClient(server.localAddress())) {
            int established = 16;
            List<Client> talkers = new ArrayList<>();
            AtomicInteger exchanged = new AtomicInteger();
            AtomicReference<Throwable> lost = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(established);
            AtomicInteger stop = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < established; i++) {
                Client c = new Client(server.localAddress());
                talkers.add(c);
                int id = i;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int k = 0; stop.get() == 0; k++) {
                            String m = id + "/" + k;
                            c.send(m);
                            String back = c.receive(5000);
                            if (!m.equals(back)) {
                                throw new AssertionError("established peer " + id + " sent " + m + ", got " + back);
                            }
                            exchanged.incrementAndGet();
                            if (k == 0) {
                                started.countDown();
                            }
                        }
                    } catch (Throwable t) {
                        lost.compareAndSet(null, t);
                        started.countDown();
                    }
                }));
            }
            assertTrue(started.await(10, TimeUnit.SECONDS));
            long heapBefore = heapAfterGc();
            long rssBefore = rssKiB();
            AtomicInteger maxLive = new AtomicInteger();
            BitSet answered = oneShotPeers(spread, 0, PEERS, () -> maxLive.accumulateAndGet(server.sessions(), Math::max));
            int exchangedDuringFlood = exchanged.get();
            long rssAfter = rssKiB();
            long heapAfter = heapAfterGc();
            stop.set(1);
            for (Thread t : threads) {
                t.join(10_000);
            }
            for (Client c : talkers) {
                c.close();
            }
            if (lost.get() != null) {
                throw new AssertionError("an established peer lost an exchange during the flood", lost.get());
            }
            ServerStats st = server.stats();
            System.out.printf("eviction: %d one-shot peers against cap %d: %d answered, %d evicted, max live %d, "
                            + "%d exchanges by %d established peers, heap after GC %d -> %d MiB, RSS %d -> %d MiB%n", PEERS, CAP,
                    answered.cardinality(), st.evicted(), maxLive.get(), exchangedDuringFlood, established,
                    heapBefore >> 20, heapAfter >> 20, rssBefore / 1024, rssAfter / 1024);
            assertTrue(maxLive.get() <= CAP, "the live table never exceeds the cap: " + maxLive.get());
            assertTrue(server.sessions() <= CAP);
            assertTrue(answered.cardinality() >= PEERS * 99L / 100, "new peers keep getting answers: " + answered.cardinality());
            assertEquals(0, st.droppedTableFull(), "nobody refused: room was made");
            assertEquals(st.sessionsClosed(), st.evicted(), "every end was an eviction, counted");
            assertTrue(st.evicted() >= PEERS + established - CAP, "evictions: " + st.evicted());
            assertEquals(st.evicted(), timeouts.get(), "each evicted session got handleTimeout");
            // RSS of this JVM also holds the clients' garbage and a heap that grows lazily; the live heap is what the server keeps
            assertTrue(heapAfter - heapBefore < 64L << 20, "memory bounded: live heap grew " + ((heapAfter - heapBefore) >> 20) + " MiB");
        }
    }

    @Test
    void theRefusePolicyKeepsTheReferenceRetries() throws Exception {
        try (Server server = start(builder().handler(new dev.abyss.server.examples.Echo()).numAcceptors(1).numConnections(1)
                .fullTablePolicy(FullTablePolicy.REFUSE).maxConnectionsRetryCount(1).maxConnectionsRetryWait(Duration.ofMillis(50))
                .shutdownTimeout(Duration.ofMillis(100)).build());
             Client a = new Client(server.localAddress()); Client b = new Client(server.localAddress())) {
            a.send("a");
            assertEquals("a", a.receive(5000));
            b.send("b");
            await("b refused after its retry", server::stats, st -> st.droppedTableFull() == 1);
            assertEquals(0, server.stats().evicted());
            a.send("a2");
            assertEquals("a2", a.receive(5000), "the established peer was never evicted");
        }
    }

    private static long heapAfterGc() {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static long rssKiB() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }
}
