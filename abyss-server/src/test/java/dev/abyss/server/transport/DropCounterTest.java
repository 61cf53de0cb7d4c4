package dev.abyss.server.transport;

import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** SO_RXQ_OVFL stamps turned into drop reports: increases only, modulo 2^32. */
class DropCounterTest {
    private final RecordingSink sink = new RecordingSink();
    private final MemorySegment control = Arena.ofAuto().allocate(64, 8);
    private final DropCounter counter = new DropCounter(sink);
    /** The transports' reader of control messages, which hands drop counts to the counter. */
    private final ReceivedDatagram received = new ReceivedDatagram(new ArrivalAddress(false, false, 0), counter, false, false);

    private void stamp(int count) {
        control.set(JAVA_LONG, MsgLayouts.CMSG_LEN_FIELD, MsgLayouts.cmsgLen(4));
        control.set(JAVA_INT, MsgLayouts.CMSG_LEVEL, Net.SOL_SOCKET);
        control.set(JAVA_INT, MsgLayouts.CMSG_TYPE, Net.SO_RXQ_OVFL);
        control.set(JAVA_INT, MsgLayouts.CMSG_DATA_OFFSET, count);
        received.read(control, 0, MsgLayouts.cmsgSpace(4), false);
    }

    @Test
    void reportsIncreasesOnly() {
        stamp(5);
        stamp(5);
        stamp(3); // queued before the last drops were stamped: older
        stamp(12);
        assertEquals(List.of(5L, 7L), sink.kernelDrops);
        assertEquals(12, counter.lastCount());
    }

    @Test
    void theKernelsCounterWraps() {
        stamp(0x7FFF_FFF0);
        stamp(0xF000_0000);
        stamp(-10); // 0xFFFFFFF6
        stamp(4);   // 14 later, past 2^32
        assertEquals(List.of(0x7FFF_FFF0L, 0x7000_0010L, 0x0FFF_FFF6L, 14L), sink.kernelDrops);
    }

    @Test
    void noControlMessageNoReport() {
        received.read(control, 0, 0, false);
        assertEquals(List.of(), sink.kernelDrops);
    }
}
