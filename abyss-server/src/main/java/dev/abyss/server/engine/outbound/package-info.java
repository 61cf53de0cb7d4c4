/**
 * The one way out: {@code Outbox} takes every send (sessions, stateless peers, {@code Server.send}),
 * straight into the transport's batch on the acceptor thread, through the off-heap {@code SendQueue}
 * from any other; {@code SendResults} hears at the end of each turn what the kernel did with each
 * datagram (counters, telemetry, counted failures). Where a reply gets its source address: the
 * session's arrival address, handed to the transport with each send.
 */
package dev.abyss.server.engine.outbound;
