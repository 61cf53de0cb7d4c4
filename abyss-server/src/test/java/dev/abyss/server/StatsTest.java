package dev.abyss.server;

import dev.abyss.server.ServerStats.Counter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Known traffic and known drops, then every counter of {@link ServerStats} checked exactly. */
@Timeout(60)
class StatsTest extends TransportSuite {

    @Test
    void everyCounterIsExact() throws Exception {
        assumeSupports(Capability.TRUNCATION_DETECTION); // one of the known drops is a cut datagram
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Handler<Object> h = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
                String t = new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8);
                switch (t) {
                    case "throw" -> throw new IllegalStateException("counted");
                    case "block" -> {
                        entered.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    default -> {
                        if (data.byteSize() < 100) {
                            s.send(data);
                        }
                    }
                }
                return HandlerResult.continueWith(state);
            }
        };
        // gso off: two equal echoes in one batch would leave as one GSO send (counted there, checked in DatagramControlSuite)
        try (Server server = start(builder().handler(h).gso(false).numAcceptors(1).numConnections(1).fullTablePolicy(FullTablePolicy.REFUSE)
                .maxConnectionsRetryCount(0).maxDatagramSize(100).sendQueueBytes(1 << 18).mailboxCapacity(1)
                .silentTerminateOnError(true).inlineCallbackLimit(Duration.ofSeconds(30)).shutdownTimeout(Duration.ZERO).build());
             Client a = new Client(server.localAddress()); Client b = new Client(server.localAddress());
             Client c = new Client(server.localAddress()); Client d = new Client(server.localAddress())) {
            b.send("throw"); // 5 bytes: a session that ends in error
            await("b's error", server::stats, st -> st.handlerErrors() == 1);
            await("b's session gone", server::sessions, n -> n == 0);
            a.send("x1");
            a.send("x2");
            assertEquals("x1", a.receive(5000));
            assertEquals("x2", a.receive(5000));
            c.send("full"); // numConnections 1, no retries
            await("c refused", server::stats, st -> st.droppedTableFull() == 1);
            a.send(new byte[300]); // cut to 100: dropped
            await("truncated", server::stats, st -> st.truncated() == 1);
            server.suspend();
            d.send("sus");
            await("d refused while suspended", server::stats, st -> st.droppedSuspended() == 1);
            server.resume();

            a.send("block"); // the acceptor is now held: cross-thread sends and posts pile up
            assertTrue(entered.await(5, TimeUnit.SECONDS));
            Session s = server.session(a.localAddress());
            byte[] big = new byte[60_000];
            int queued = 0;
            while (s.send(big).ok()) {
                queued++;
            }
            assertEquals(4, queued, "a 256 KiB queue holds four 60 KB datagrams");
            assertTrue(s.post("first"));
            assertFalse(s.post("second"), "mailboxCapacity 1");
            release.countDown();
            // counters are written after the kernel took the datagram: wait for both books
            await("the queued sends go out (server, session)", () -> List.of(server.stats().datagramsOut(), s.sentPackets()),
                    counts -> counts.equals(List.of(6L, 6L)));

            Map<Counter, Long> expected = new EnumMap<>(Counter.class);
            for (Counter counter : Counter.values()) {
                expected.put(counter, 0L); // a counter not named below must be zero
            }
            expected.put(Counter.DATAGRAMS_IN, 7L); // throw, x1, x2, full, 100 of 300, sus, block
            expected.put(Counter.BYTES_IN, 5L + 4 + 4 + 100 + 3 + 5);
            expected.put(Counter.DATAGRAMS_OUT, 6L); // two echoes, four queued
            expected.put(Counter.BYTES_OUT, 4L + 4 * 60_000);
            expected.put(Counter.SESSIONS_OPENED, 2L); // b and a
            expected.put(Counter.SESSIONS_CLOSED, 1L); // b
            expected.put(Counter.DROPPED_TABLE_FULL, 1L);
            expected.put(Counter.POST_QUEUE_FULL, 1L);
            expected.put(Counter.DROPPED_SUSPENDED, 1L);
            expected.put(Counter.TRUNCATED, 1L);
            expected.put(Counter.SEND_QUEUE_FULL, 1L);
            expected.put(Counter.HANDLER_ERRORS, 1L);
            ServerStats stats = server.stats();
            assertEquals(expected, stats.asMap());
            assertEquals(1, stats.sessionsLive(), "a");
            assertEquals(2 + 4, s.sentPackets(), "per session: what the kernel took");
            assertEquals(4 + 4 * 60_000, s.sentBytes());
            assertEquals(3, s.receivedPackets(), "x1, x2, block: the cut datagram was dropped, never delivered");
            assertEquals(2 + 2 + 5, s.receivedBytes());
        }
    }
}
