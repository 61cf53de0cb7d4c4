/**
 * Who gets a place: {@code Admission} takes a datagram from a peer without a live session (open,
 * evict to make room, wait in the bounded {@code Retries} ring, or refuse, counted);
 * {@code SessionPlaces} keeps the table, the eviction order and the server-wide {@code SessionCap},
 * and is where an ended session gives its place back.
 */
package dev.abyss.server.engine.admission;
