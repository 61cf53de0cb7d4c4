package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a transport (or its helpers) handed to its sinks, for tests that drive transports directly. */
final class RecordingSink implements Transport.ReceiveSink, Transport.SendSink {
    final List<String> received = new ArrayList<>();
    final List<PeerKey> senders = new ArrayList<>();
    final List<Boolean> truncated = new ArrayList<>();
    final List<Object> sent = new ArrayList<>();
    /** The bytes each {@link #sent} result pointed at. */
    final List<String> sentData = new ArrayList<>();
    final List<Integer> failed = new ArrayList<>();
    final List<Long> kernelDrops = new ArrayList<>();
    /** Datagrams reported as segments of GSO sends. */
    int coalesced;
    /** Set by a test around its {@link Transport#send} calls: a send result reported meanwhile is counted. */
    boolean sending;
    /** Send results (sent, failed, coalesced) reported while {@link #sending}: the contract says none. */
    int reportedInsideSend;
    /** Run for each datagram received, as a handler would (it may send). */
    Consumer<PeerKey> onEach = peer -> {
    };

    @Override
    public void beginBatch() {
    }

    @Override
    public void onDatagram(PeerKey peer, MemorySegment data, DatagramFacts facts) {
        assertTrue(data.isReadOnly(), "the sink gets a read-only view");
        received.add(new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8));
        senders.add(peer.copy());
        truncated.add(facts.truncated());
        onEach.accept(peer);
    }

    @Override
    public void onReceiveError(int errno) {
    }

    @Override
    public void onReceivePaused() {
    }

    @Override
    public void onKernelDrops(long count) {
        kernelDrops.add(count);
    }

    @Override
    public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
        checkNotInsideSend();
        sent.add(tag);
        sentData.add(new String(buffer.asSlice(offset, bytes).toArray(JAVA_BYTE), StandardCharsets.UTF_8));
    }

    @Override
    public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
        checkNotInsideSend();
        failed.add(errno);
    }

    @Override
    public void coalesced(int segments) {
        checkNotInsideSend();
        coalesced += segments;
    }

    private void checkNotInsideSend() {
        if (sending) {
            reportedInsideSend++; // counted, not thrown: a throw would unwind through the transport
        }
    }
}
