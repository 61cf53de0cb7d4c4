package dev.abyss.server.engine;

import dev.abyss.server.DatagramInfo;
import dev.abyss.server.transport.ReceivedDatagram;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.Peer;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * Request/response without sessions: each datagram goes to the {@link DatagramHandler} with one
 * reused {@link Peer} flyweight over the transport's decoded sender address. Nothing is looked up,
 * stored or allocated; replies join the acceptor's send batch. Owner thread only.
 */
final class StatelessDispatch implements Peer {
    private final DatagramHandler handler;
    private final Outbox outbox;
    private final CallbackClock clock;
    private final ErrorLog errors;
    private final Counters counters;
    private final MemorySegment scratch;
    private final MemorySegment staging;
    private final ByteBuffer stagingView;
    private PeerKey peer;
    /** Where the datagram arrived (wildcard sockets), the source of the replies; else null. */
    private PeerKey arrival;
    private DatagramInfo info;
    private int trafficClass;
    private boolean valid;

    StatelessDispatch(DatagramHandler handler, Outbox outbox, CallbackClock clock, ErrorLog errors, Counters counters,
                      MemorySegment scratch, MemorySegment staging) {
        this.scratch = scratch;
        this.staging = staging;
        this.stagingView = staging.asByteBuffer();
        this.handler = handler;
        this.outbox = outbox;
        this.clock = clock;
        this.errors = errors;
        this.counters = counters;
    }

    /** Hands one datagram to the handler; a throw or an overrun is counted and logged (bounded), never fatal. */
    void handle(PeerKey from, ReceivedDatagram received, MemorySegment data) {
        peer = from;
        arrival = received.destinationKey();
        info = received;
        trafficClass = -1;
        valid = true;
        clock.enter();
        Throwable failure = null;
        try {
            handler.handle(this, data);
        } catch (Throwable t) {
            failure = t;
        } finally {
            valid = false;
        }
        if (clock.exitOverran() && failure == null) {
            failure = new java.util.concurrent.TimeoutException("DatagramHandler ran longer than inlineCallbackLimit");
        }
        if (failure != null) {
            counters.increment(Counters.HANDLER_ERRORS);
            errors.error("datagram handler failed on a datagram from {}", from.toSocketAddress(), failure);
        }
    }

    private PeerKey current() {
        if (!valid) {
            throw new IllegalStateException("a Peer is valid only during DatagramHandler.handle; keep address() for later replies");
        }
        return peer;
    }

    @Override
    public boolean send(MemorySegment data) {
        return outbox.sendTo(current(), arrival, trafficClass, data, 0, data.byteSize());
    }

    @Override
    public boolean send(MemorySegment data, long offset, long length) {
        java.util.Objects.checkFromIndexSize(offset, length, data.byteSize());
        return outbox.sendTo(current(), arrival, trafficClass, data, offset, length);
    }

    @Override
    public boolean send(byte[] data) {
        return outbox.sendTo(current(), arrival, trafficClass, MemorySegment.ofArray(data), 0, data.length);
    }

    @Override
    public boolean send(ByteBuffer data) {
        PeerKey to = current();
        if (data.remaining() <= staging.byteSize()) {
            stagingView.put(0, data, data.position(), data.remaining()); // no segment per call
            return outbox.sendTo(to, arrival, trafficClass, staging, 0, data.remaining());
        }
        MemorySegment all = MemorySegment.ofBuffer(data);
        return outbox.sendTo(to, arrival, trafficClass, all, 0, all.byteSize());
    }

    @Override
    public MemorySegment scratch() {
        current();
        return scratch;
    }

    @Override
    public SocketAddress address() {
        return current().toSocketAddress();
    }

    @Override
    public int sendSegments(MemorySegment data, long offset, long length, int segmentSize) {
        return outbox.sendSegments(null, current(), arrival, trafficClass, data, offset, length, segmentSize);
    }

    @Override
    public void setTrafficClass(int trafficClass) {
        current();
        this.trafficClass = Outbox.checkTrafficClass(trafficClass);
    }

    @Override
    public DatagramInfo datagram() {
        current();
        return info;
    }

    @Override
    public boolean truncated() {
        current();
        return info.truncated();
    }

    @Override
    public String toString() {
        return valid ? "Peer[" + peer + "]" : "Peer[outside its callback]";
    }
}
