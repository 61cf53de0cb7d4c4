/**
 * Source prefixes (IPv4 /24, IPv6 /56 by default): the unit the open-internet defences count in.
 * {@link dev.abyss.server.engine.prefix.Prefixes} maps a peer to its prefix and a bucket of a
 * fixed-size table with a keyed hash (a per-process secret), so a remote sender cannot aim
 * collisions. Read by admission (per-prefix session quotas) and the outbound path (reply rate
 * limits); below both.
 */
package dev.abyss.server.engine.prefix;
