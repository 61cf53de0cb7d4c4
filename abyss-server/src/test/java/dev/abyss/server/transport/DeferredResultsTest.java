package dev.abyss.server.transport;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Results kept inside a send and replayed at the next reporting point: order, bytes, growth. */
class DeferredResultsTest {

    /** Records what is replayed, as text: "sent tag data", "failed tag bytes errno", "coalesced n". */
    private static final class Log implements Transport.SendSink {
        final List<String> events = new ArrayList<>();
        boolean wantsBytes = true;

        @Override
        public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
            events.add("sent " + tag + " " + text(buffer, offset, bytes));
        }

        @Override
        public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
            events.add("failed " + tag + " " + text(buffer, offset, bytes) + " " + errno);
        }

        @Override
        public void coalesced(int segments) {
            events.add("coalesced " + segments);
        }

        @Override
        public boolean wantsBytes() {
            return wantsBytes;
        }

        static String text(MemorySegment buffer, long offset, int bytes) {
            return new String(buffer.asSlice(offset, bytes).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    private static MemorySegment bytes(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void replaysInOrderWithCopiesOfTheBytes() {
        Log log = new Log();
        DeferredResults kept = new DeferredResults(log);
        MemorySegment slot = bytes("xxabcd");
        kept.sent("a", slot, 2, 2);
        kept.failed("b", slot, 4, 2, 11);
        kept.coalesced(2);
        slot.fill((byte) '!'); // the transport reuses its slot at once: the copies must not follow
        assertTrue(kept.pending());
        assertTrue(log.events.isEmpty(), "nothing told before the report");
        assertEquals(2, kept.report(), "datagrams reported");
        assertEquals(List.of("sent a ab", "failed b cd 11", "coalesced 2"), log.events);
        assertFalse(kept.pending());
        assertEquals(0, kept.report(), "each result once");
        assertEquals(3, log.events.size());
    }

    @Test
    void bytesNobodyWantsAreNotCopiedAndReadAsZerosOfTheRightLength() {
        Log log = new Log();
        log.wantsBytes = false;
        DeferredResults kept = new DeferredResults(log);
        kept.sent("a", bytes("hello"), 0, 5);
        kept.report();
        assertEquals(List.of("sent a \0\0\0\0\0"), log.events);
    }

    @Test
    void bytesBeyondTheSpillReadAsZerosWithExactCounts() {
        MemorySegment big = MemorySegment.ofArray(new byte[60_000]).fill((byte) 'x');
        int fit = DeferredResults.SPILL_BYTES / 60_000;
        List<MemorySegment> seen = new ArrayList<>();
        DeferredResults replay = new DeferredResults(new Transport.SendSink() {
            @Override
            public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
                seen.add(MemorySegment.ofArray(buffer.asSlice(offset, bytes).toArray(JAVA_BYTE)));
            }

            @Override
            public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
            }
        });
        for (int i = 0; i <= fit; i++) {
            replay.sent(i, big, 0, 60_000);
        }
        replay.report();
        assertEquals(fit + 1, seen.size());
        for (int i = 0; i < fit; i++) {
            assertArrayEquals(big.toArray(JAVA_BYTE), seen.get(i).toArray(JAVA_BYTE), "kept " + i);
        }
        assertEquals(60_000, seen.get(fit).byteSize(), "the count is exact");
        assertEquals(0, seen.get(fit).get(JAVA_BYTE, 0), "past the spill: zeros");
    }

    @Test
    void growsPastItsFirstCapacityAndKeepsOrder() {
        Log log = new Log();
        DeferredResults kept = new DeferredResults(log);
        int n = 3 * DeferredResults.INITIAL_CAPACITY + 1;
        for (int i = 0; i < n; i++) {
            kept.sent(i, bytes("d" + i), 0, ("d" + i).length());
        }
        assertEquals(n, kept.report());
        for (int i = 0; i < n; i++) {
            assertEquals("sent " + i + " d" + i, log.events.get(i));
        }
    }

    @Test
    void aReportCutShortByAThrowingSinkResumesWhereItStopped() {
        List<Object> told = new ArrayList<>();
        DeferredResults kept = new DeferredResults(new Transport.SendSink() {
            @Override
            public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
                told.add(tag);
                if (told.size() == 2) {
                    throw new IllegalStateException("sink bug");
                }
            }

            @Override
            public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
            }
        });
        for (int i = 0; i < 4; i++) {
            kept.sent(i, bytes("x"), 0, 1);
        }
        assertThrows(IllegalStateException.class, kept::report);
        kept.report();
        assertEquals(List.of(0, 1, 2, 3), told, "each once");
    }
}
