/**
 * The engine behind {@link dev.abyss.server.Server}: {@code ServerEngine} (the acceptors, the session
 * cap, the server-wide lookups) and {@code Acceptor} (one thread's duty cycle over one transport, and
 * the receive sink that routes each datagram: to the stateless handler, to its live session's
 * dispatcher, or to admission). Each sub-package is one room a datagram passes through; a room reads
 * only the rooms below it:
 * <ul>
 *   <li>{@code session}: sessions and what holds them (table, idle order, timer wheel, the layer seam);</li>
 *   <li>{@code telemetry}: counters, the one drop path, telemetry and JFR events, bounded error logs;</li>
 *   <li>{@code outbound}: the one way out for everything that sends, and what the kernel did with it;</li>
 *   <li>{@code dispatch}: how callbacks run (on the acceptor, on a virtual thread, without a session);</li>
 *   <li>{@code admission}: who gets a place in a full table, and where an ended session gives it back.</li>
 * </ul>
 * Not exported: none of it is API.
 */
package dev.abyss.server.engine;
