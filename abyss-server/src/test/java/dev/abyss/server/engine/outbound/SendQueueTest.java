package dev.abyss.server.engine.outbound;

import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class SendQueueTest {

    private static PeerKey peer(int port) {
        return new PeerKey().set(new InetSocketAddress("127.0.0.1", port));
    }

    @Test
    void aSendFromAClosedSegmentFailsAloneAndDoesNotJamTheRecordsBehindIt() {
        try (Arena arena = Arena.ofConfined()) {
            SendQueue q = new SendQueue(arena, 1);
            MemorySegment gone;
            try (Arena caller = Arena.ofConfined()) {
                gone = caller.allocate(100);
            }
            MemorySegment closed = gone;
            assertThrows(IllegalStateException.class, () -> q.offer(peer(1), closed, 0, 100), "the caller's mistake reaches the caller");
            MemorySegment ok = arena.allocate(10);
            for (int i = 0; i < 1_000; i++) {
                assertTrue(q.offer(peer(2), ok, 0, 10));
                assertEquals(1, q.drain((ring, nameAt, nameLength, fromAt, fromLength, trafficClass, dataAt, dataLength) -> assertEquals(10, dataLength), 10),
                        "the datagram behind the failed one is drained");
            }
            assertTrue(q.isEmpty());
            assertFalse(q.isClosed());
        }
    }

    @Test
    void fillsUpRefusesThenDrainsInOrderAcrossTheWrap() {
        try (Arena arena = Arena.ofConfined()) {
            SendQueue q = new SendQueue(arena, 1);
            assertEquals(SendQueue.MIN_CAPACITY, q.capacity(), "rounded up to the minimum");
            MemorySegment payload = arena.allocate(1000);
            int accepted = 0;
            for (int i = 0; i < 10_000; i++) {
                payload.set(JAVA_INT_UNALIGNED, 0, i);
                if (!q.offer(peer(1000 + (i % 50)), payload, 0, 1000)) {
                    break;
                }
                accepted++;
            }
            // 8 + 16 + 1000 = 1024 bytes per record
            assertEquals(SendQueue.MIN_CAPACITY / 1024, accepted, "a full ring refuses instead of overwriting");
            int firstBatch = accepted;
            // half out, then more in: the new records wrap around the end of the ring
            List<Integer> seen = new ArrayList<>();
            PeerKey key = new PeerKey();
            SendQueue.Consumer c = (ring, nameAt, nameLength, fromAt, fromLength, trafficClass, dataAt, dataLength) -> {
                assertTrue(key.readFrom(ring, nameAt, nameLength));
                int seq = ring.get(JAVA_INT_UNALIGNED, dataAt);
                assertEquals(1000 + (seq % 50), key.port(), "the address travels with its datagram");
                assertEquals(seq % 7 == 0 && seq >= firstBatch ? 333 : 1000, dataLength);
                seen.add(seq);
            };
            assertEquals(100, q.drain(c, 100));
            int next = accepted;
            for (int i = 0; i < 60; i++, next++) {
                payload.set(JAVA_INT_UNALIGNED, 0, next);
                assertTrue(q.offer(peer(1000 + (next % 50)), payload, 0, next % 7 == 0 ? 333 : 1000), "room after drain");
            }
            while (q.drain(c, 64) > 0) {
                // drain all
            }
            assertTrue(q.isEmpty());
            assertEquals(next, seen.size());
            for (int i = 0; i < next; i++) {
                assertEquals(i, seen.get(i), "FIFO");
            }
        }
    }

    @Test
    void eachDatagramKeepsTheTrafficClassItWasOfferedWith() {
        try (Arena arena = Arena.ofConfined()) {
            SendQueue q = new SendQueue(arena, 1);
            MemorySegment payload = arena.allocate(10);
            int[] classes = {-1, 0, 2, 0xB8, 255};
            PeerKey source = new PeerKey().set(new InetSocketAddress("198.18.0.5", 53));
            for (int i = 0; i < classes.length; i++) {
                assertTrue(q.offer(peer(7), i % 2 == 0 ? source : null, classes[i], payload, 0, 10));
            }
            java.util.List<Integer> seen = new java.util.ArrayList<>();
            java.util.List<String> sources = new java.util.ArrayList<>();
            PeerKey key = new PeerKey();
            PeerKey from = new PeerKey();
            assertEquals(classes.length, q.drain((ring, nameAt, nameLength, fromAt, fromLength, trafficClass, dataAt, dataLength) -> {
                assertTrue(key.readFrom(ring, nameAt, nameLength), "the address is intact beside the class");
                assertEquals(7, key.port());
                assertEquals(10, dataLength);
                seen.add(trafficClass);
                sources.add(fromLength == 0 ? "route" : from.readFrom(ring, fromAt, fromLength) ? from.toString() : "unreadable");
            }, 100));
            assertEquals(java.util.Arrays.stream(classes).boxed().toList(), seen);
            assertEquals(java.util.List.of(source.toString(), "route", source.toString(), "route", source.toString()), sources,
                    "the source travels with its datagram, taken when it was queued");
            // a 28-byte IPv6 destination: the source after it starts 8-aligned (its fields are read aligned)
            PeerKey v6 = new PeerKey().set(new InetSocketAddress("fd00::2", 9));
            PeerKey v6Source = new PeerKey().set(new InetSocketAddress("fd00::1", 0));
            assertTrue(q.offer(v6, v6Source, 0xB8, payload, 0, 10));
            assertEquals(1, q.drain((ring, nameAt, nameLength, fromAt, fromLength, trafficClass, dataAt, dataLength) -> {
                assertTrue(key.readFrom(ring, nameAt, nameLength));
                assertTrue(from.readFrom(ring, fromAt, fromLength));
                assertEquals(v6, key);
                assertEquals(v6Source, from);
                assertEquals(0xB8, trafficClass);
                assertEquals(10, dataLength);
            }, 10));
        }
    }

    @Test
    void manyProducersOneConsumerLoseNothingAndKeepEachProducersOrder() throws Exception {
        int producers = 4;
        int perProducer = 200_000;
        try (Arena arena = Arena.ofShared()) {
            SendQueue q = new SendQueue(arena, 1 << 18);
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int id = p;
                threads.add(Thread.ofPlatform().start(() -> {
                    PeerKey key = peer(2000 + id);
                    MemorySegment payload = Arena.ofAuto().allocate(64 + id * 8);
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perProducer; ) {
                        payload.set(JAVA_INT_UNALIGNED, 0, i);
                        payload.set(JAVA_BYTE, payload.byteSize() - 1, (byte) i);
                        if (q.offer(key, payload, 0, (int) payload.byteSize())) {
                            i++;
                        } else {
                            Thread.onSpinWait(); // full: the consumer catches up
                        }
                    }
                }));
            }
            int[] nextSeq = new int[producers];
            long[] total = new long[1];
            PeerKey key = new PeerKey();
            SendQueue.Consumer c = (ring, nameAt, nameLength, fromAt, fromLength, trafficClass, dataAt, dataLength) -> {
                key.readFrom(ring, nameAt, nameLength);
                int id = key.port() - 2000;
                assertEquals(64 + id * 8, dataLength);
                int seq = ring.get(JAVA_INT_UNALIGNED, dataAt);
                assertEquals(nextSeq[id]++, seq, "producer " + id + " in order");
                assertEquals((byte) seq, ring.get(JAVA_BYTE, dataAt + dataLength - 1), "payload intact");
                total[0]++;
            };
            start.countDown();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (total[0] < (long) producers * perProducer && System.nanoTime() < deadline) {
                if (q.drain(c, 64) == 0) {
                    Thread.onSpinWait();
                }
            }
            for (Thread t : threads) {
                t.join();
            }
            assertEquals((long) producers * perProducer, total[0]);
            assertFalse(q.drain(c, 64) > 0);
            assertTrue(q.isEmpty());
        }
    }
}
