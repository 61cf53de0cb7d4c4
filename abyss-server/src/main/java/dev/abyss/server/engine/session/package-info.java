/**
 * Sessions and what holds them, the bottom room of the engine: {@code SessionImpl} (one peer; it
 * holds its outbound path and its driver, and documents who writes which of its fields),
 * {@code SessionTable} (single writer, lock-free readers, the address inline), {@code IdleOrder}
 * (eviction order), {@code TimerWheel} (idle timeouts), {@code SessionEnd} (why a session ended) and
 * {@code SessionLayer}, the seam for a per-session layer such as DTLS. Depends on no other engine room.
 */
package dev.abyss.server.engine.session;
