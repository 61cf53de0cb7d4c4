package dev.abyss.server.transport.uring;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The io_uring transport's send slots over its data ring: claims, in-order release, the ring's end. */
class SendSlotsTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void aSlotReleasedOutOfOrderWaitsForTheOnesClaimedBeforeIt() {
        SendSlots slots = new SendSlots(arena, 3, 1024);
        int a = slots.claim("a", 100);
        int b = slots.claim("b", 100);
        assertEquals(1, slots.free());
        assertEquals("b", slots.tag(b));
        assertEquals(100, slots.length(b));
        assertEquals(104, slots.dataOffset(b), "after a's bytes, 8-byte aligned");
        slots.release(b); // completed first
        assertEquals(1, slots.free(), "b waits for a");
        assertNull(slots.tag(b), "its tag let go at once");
        assertFalse(slots.idle());
        slots.release(a);
        assertEquals(3, slots.free(), "both free now");
        assertTrue(slots.idle());
    }

    @Test
    void aDatagramNeverStraddlesTheRingsEnd() {
        SendSlots slots = new SendSlots(arena, 4, 256);
        int a = slots.claim("a", 96);
        int b = slots.claim("b", 96);
        assertEquals(96, slots.dataOffset(b));
        assertFalse(slots.fits(96), "64 bytes left before the end, the front still in use");
        slots.release(a);
        assertTrue(slots.fits(96), "a's bytes at the front are free");
        int c = slots.claim("c", 96);
        assertEquals(0, slots.dataOffset(c), "skipped to the front");
        assertFalse(slots.fits(8), "the skipped end counts until b and c are done");
        slots.release(b);
        slots.release(c);
        assertTrue(slots.idle());
        assertEquals(0, slots.dataOffset(slots.claim("d", 8)), "nothing in flight: from the front again");
    }

    @Test
    void noSlotNoRoom() {
        SendSlots slots = new SendSlots(arena, 1, 1024);
        slots.claim("a", 8);
        assertFalse(slots.fits(8), "bytes left, but no slot");
    }

    @Test
    void theLastClaimedSlotGrowsWhileItsBytesFit() {
        SendSlots slots = new SendSlots(arena, 2, 256);
        int a = slots.claim("a", 100);
        assertEquals(100, slots.extend(a, 100), "the joining bytes follow");
        assertEquals(200, slots.length(a));
        slots.segments(a, 2, 100);
        assertEquals(2, slots.segments(a));
        assertEquals(100, slots.segmentSize(a));
        assertEquals(-1, slots.extend(a, 100), "past the ring's end");
        assertEquals(200, slots.length(a), "unchanged");
        assertTrue(slots.fits(48), "what is left after the grown send");
        assertFalse(slots.fits(64));
    }
}
