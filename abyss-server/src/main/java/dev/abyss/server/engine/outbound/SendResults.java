package dev.abyss.server.engine.outbound;

import dev.abyss.ffi.Errno;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.Drop;
import dev.abyss.server.engine.telemetry.Drops;
import dev.abyss.server.engine.telemetry.Spans;
import dev.abyss.server.telemetry.EventKind;
import dev.abyss.server.transport.Transport;

import java.lang.foreign.MemorySegment;

/**
 * What the kernel did with each datagram, told by the transport at the end of a turn (never inside
 * a handler's send): the server's and the session's counters, telemetry's send events, and a
 * counted drop for each refusal. Acceptor thread only.
 *
 * @param counters     the acceptor's counters
 * @param drops        where a refused datagram is counted
 * @param acceptorSpan the telemetry span of sends without a session
 */
public record SendResults(Counters counters, Drops drops, long acceptorSpan) implements Transport.SendSink {

    @Override
    public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
        SessionImpl s = (SessionImpl) tag;
        counters.increment(Counters.DATAGRAMS_OUT);
        counters.add(Counters.BYTES_OUT, bytes);
        if (s != null) {
            s.countSent(bytes);
        }
        if (EventKind.CONNECTION_SEND.enabled()) {
            Spans.send(s != null ? s.spanContext : acceptorSpan, buffer, offset, bytes);
        }
    }

    @Override
    public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
        SessionImpl s = (SessionImpl) tag;
        Spans.sendError(s != null ? s.spanContext : acceptorSpan, buffer, offset, bytes, errno);
        drops.drop(Drop.SEND_ERROR, s == null ? null : s.key, bytes, Errno.name(errno));
    }

    /**
     * The bytes of a result matter only to telemetry's send events: a transport that has to keep a
     * result for later copies its bytes aside only while someone listens.
     */
    @Override
    public boolean wantsBytes() {
        return EventKind.CONNECTION_SEND.enabled() || EventKind.CONNECTION_SEND_ERROR.enabled();
    }

    @Override
    public void coalesced(int segments) {
        counters.increment(Counters.GSO_SENDS);
        counters.add(Counters.GSO_SEGMENTS, segments);
    }
}
