package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a transport (or its helpers) handed to its sinks, for tests that drive transports directly. */
final class RecordingSink implements Transport.ReceiveSink, Transport.SendSink {
    final List<String> received = new ArrayList<>();
    final List<PeerKey> senders = new ArrayList<>();
    final List<Boolean> truncated = new ArrayList<>();
    final List<Object> sent = new ArrayList<>();
    final List<Integer> failed = new ArrayList<>();
    final List<Long> kernelDrops = new ArrayList<>();
    /** Datagrams reported as segments of GSO sends. */
    int coalesced;

    @Override
    public void beginBatch() {
    }

    @Override
    public void onReceivePaused() {
    }

    @Override
    public void onDatagram(PeerKey peer, MemorySegment data, DatagramFacts facts) {
        boolean cut = facts.truncated();
        assertTrue(data.isReadOnly(), "the sink gets a read-only view");
        received.add(new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8));
        senders.add(peer.copy());
        truncated.add(cut);
    }

    @Override
    public void onReceiveError(int errno) {
    }

    @Override
    public void onKernelDrops(long count) {
        kernelDrops.add(count);
    }

    @Override
    public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
        sent.add(tag);
    }

    @Override
    public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
        failed.add(errno);
    }

    @Override
    public void coalesced(int segments) {
        coalesced += segments;
    }
}
