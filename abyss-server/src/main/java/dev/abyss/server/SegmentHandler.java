package dev.abyss.server;

import java.lang.foreign.MemorySegment;

/**
 * The raw, fastest path: one callback per datagram with no lifecycle, no state and no terminal
 * callbacks (the escape hatch of the original's "When Handler isn't enough"). Sessions still exist
 * (for {@link Session#send} and counters) and still expire after readTimeout, silently.
 *
 * <p>Runs inline on the acceptor thread: {@code data} is a read-only view valid only until the
 * method returns, and the method must not block.
 */
@FunctionalInterface
public interface SegmentHandler {
    /**
     * One datagram.
     *
     * @param session the peer's session (for sending, counters and its address)
     * @param data    the payload, a read-only view valid until this method returns
     */
    void handle(Session session, MemorySegment data);
}
