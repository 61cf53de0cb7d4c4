package dev.abyss.server.engine.dispatch;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.Peer;
import dev.abyss.server.RateLimitVerdict;
import dev.abyss.server.SendResult;
import dev.abyss.server.engine.outbound.Outbox;
import dev.abyss.server.engine.outbound.ReplyLimits;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.ErrorLog;
import dev.abyss.server.transport.DatagramFacts;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;

/**
 * Request/response without sessions: each datagram goes to the {@link DatagramHandler} with one
 * reused {@link Peer} flyweight over the transport's decoded sender address. Nothing is looked up,
 * stored or allocated; replies take the acceptor's one {@link Outbox}. Owner thread only.
 */
public final class StatelessDispatch implements Peer {
    private final DatagramHandler handler;
    private final Outbox outbox;
    private final CallbackClock clock;
    private final ErrorLog errors;
    private final Counters counters;
    /** The outbox's reply limits, or null: none configured. */
    private final ReplyLimits limits;
    private PeerKey peer;
    /** Where the datagram arrived (wildcard sockets), the source of the replies; else null. */
    private PeerKey arrival;
    private DatagramFacts facts;
    private int trafficClass;
    private boolean valid;
    /** {@link #markValidated()} in this callback. */
    private boolean validated;

    public StatelessDispatch(DatagramHandler handler, Outbox outbox, CallbackClock clock, ErrorLog errors, Counters counters) {
        this.handler = handler;
        this.outbox = outbox;
        this.clock = clock;
        this.errors = errors;
        this.counters = counters;
        this.limits = outbox.limits();
    }

    /** Hands one datagram to the handler; a throw or an overrun is counted and logged (bounded), never fatal. */
    public void handle(PeerKey from, MemorySegment data, DatagramFacts facts) {
        this.peer = from;
        this.arrival = facts.destinationKey();
        this.facts = facts;
        this.trafficClass = -1;
        this.valid = true;
        this.validated = false;
        if (limits != null) {
            limits.beginRequest(data.byteSize()); // its replies are held to F × this request
        }
        clock.enter();
        Throwable failure = null;
        try {
            handler.handle(this, data);
        } catch (Throwable t) {
            failure = t;
        } finally {
            valid = false;
            if (limits != null) {
                limits.endRequest();
            }
        }
        if (clock.exitOverran() && failure == null) {
            failure = new TimeoutException("DatagramHandler ran longer than inlineCallbackLimit");
        }
        if (failure != null) {
            counters.increment(Counters.HANDLER_ERRORS);
            errors.error("datagram handler failed on a datagram from {}", from.toSocketAddress(), failure);
        }
    }

    /**
     * {@return the sender of the datagram being handled, the transport's own key (no copy): for
     * {@code AddressTokens}, which reads its address without allocating}
     *
     * @throws IllegalStateException outside the handler's call
     */
    public PeerKey peerKey() {
        return current();
    }

    private PeerKey current() {
        if (!valid) {
            throw new IllegalStateException("a DatagramHandler's Peer is valid only during its call; keep remoteAddress() "
                    + "and reply later with Server.send");
        }
        return peer;
    }

    @Override
    public SendResult send(MemorySegment data, long offset, long length) {
        return outbox.sendTo(current(), arrival, trafficClass, data, offset, length);
    }

    @Override
    public SendResult send(ByteBuffer data) {
        return outbox.sendTo(current(), arrival, trafficClass, data);
    }

    @Override
    public int sendSegments(MemorySegment data, long offset, long length, int segmentSize) {
        return outbox.sendSegmentsTo(current(), arrival, trafficClass, data, offset, length, segmentSize);
    }

    @Override
    public MemorySegment scratch() {
        current();
        return outbox.scratch();
    }

    /** Allocated on each call: a durable value for later replies. */
    @Override
    public SocketAddress remoteAddress() {
        return current().toSocketAddress();
    }

    @Override
    public SocketAddress localAddress() {
        current();
        return arrival != null ? arrival.toSocketAddress() : outbox.localAddress();
    }

    @Override
    public void setTrafficClass(int trafficClass) {
        current();
        this.trafficClass = SessionImpl.checkTrafficClass(trafficClass);
    }

    @Override
    public int trafficClass() {
        current();
        return trafficClass <= 0 ? -1 : trafficClass;
    }

    @Override
    public DatagramInfo datagram() {
        current();
        return facts;
    }

    @Override
    public void markValidated() {
        current();
        validated = true;
        if (limits != null) {
            limits.validateRequest();
        }
    }

    @Override
    public boolean validated() {
        current();
        return validated;
    }

    @Override
    public boolean overRateLimit() {
        return limits != null && limits.over(current(), validated);
    }

    @Override
    public RateLimitVerdict rateLimit() {
        return limits == null ? RateLimitVerdict.UNDER : limits.verdict(null, current(), validated);
    }

    @Override
    public String toString() {
        return valid ? "Peer[" + peer + "]" : "Peer[outside its callback]";
    }
}
