package dev.abyss.server;

import java.lang.foreign.MemorySegment;

/**
 * Request/response without sessions: one callback per datagram with a reply handle for its sender,
 * and nothing kept between datagrams: no session-table entry, no timer, no allocation. Choose it
 * for protocols where every query may come from a new address and port (DNS, NTP, STUN, syslog and
 * telemetry collectors, game-server discovery): a flood of new peers costs nothing but the
 * datagrams themselves, and no table can fill up. Choose {@link Handler} when peers hold a
 * conversation with state, {@link SegmentHandler} for the raw per-session callback.
 *
 * <p>Runs inline on the acceptor thread: {@code data} and {@code peer} are valid only until the
 * method returns, and the method must not block (it is under inlineCallbackLimit). Reply with
 * {@link Peer#send}; to reply later or from another thread, keep {@link Peer#remoteAddress()} and use
 * {@link Server#send(java.net.SocketAddress, MemorySegment)}. A handler that throws is counted in
 * {@link ServerStats#handlerErrors()} and logged at a bounded rate; the next datagram is served as usual.
 *
 * <pre>{@code
 * Abyss.start(ServerConfig.builder().datagramHandler((peer, query) -> peer.send(answer(query))).port(5353).build());
 * }</pre>
 */
@FunctionalInterface
public interface DatagramHandler {
    /**
     * One datagram.
     *
     * @param peer the sender, a reply handle valid until this method returns
     * @param data the payload, a read-only view valid until this method returns
     */
    void handle(Peer peer, MemorySegment data);
}
