package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.net.PeerKey;

import java.security.SecureRandom;

/**
 * The next hops an XDP acceptor has learned, one per peer host: a fixed, direct-mapped table,
 * owner thread only, no allocation after construction.
 *
 * <p><b>Keyed by host, not by port.</b> Where a frame goes at layer 2 depends on the peer's IP
 * address (the peer itself on the link, or its router), never on its UDP port: one client with many
 * sockets (a resolver, kxdpgun) takes one place, and a table of {@value #PLACES} places holds that
 * many hosts. The place is chosen by a hash seeded per table, so a sender cannot aim collisions.
 *
 * <p><b>Never replaced while live.</b> Every source is forged until validated, and on a shared link
 * anyone can send a frame with a peer's IP and its own MAC. A known hop is therefore kept while it
 * has been seen in the last {@link #HOLD_NANOS}: a frame from the same host through another hop in
 * that time is not learned, is counted ({@link #takeContested()}) and marks the host contested, so
 * replies to it go through the bound socket (the kernel's routing and neighbour table) until one side
 * has been silent that long. A place held by another host's live hop is not taken either.
 *
 * <p><b>Replies in place.</b> {@link #learn} also says which hop a reply to the frame being handled
 * may take: the table's when the frame agrees with it, the frame's own when its host has no place
 * (another host's live hop holds it: the reply goes back the way the request came, as a reflector
 * at layer 2 would), and none when the host is contested.
 */
final class NextHops {
    /** Places in the table (a power of two). */
    static final int PLACES = 4096;
    /** How long a learned hop must be silent before another replaces it (or another host takes its place). */
    static final long HOLD_NANOS = 2_000_000_000L;

    /** Drawn from {@link SecureRandom} as the prefix table's secret is: an outsider cannot predict which hosts share a place. */
    private final long seed = new SecureRandom().nextLong() | 1;
    // the host of each place: family, the address's two halves, the IPv6 scope
    private final int[] family = new int[PLACES];
    private final long[] hi = new long[PLACES];
    private final long[] lo = new long[PLACES];
    private final int[] scope = new int[PLACES];
    private final NextHop[] hops = new NextHop[PLACES];
    /** When each place's hop last came in a frame, and when another hop for its host last did (System.nanoTime). */
    private final long[] seen = new long[PLACES];
    private final long[] otherSeen = new long[PLACES];
    /** A place whose host came through another hop while its own was live: replies go through the socket. */
    private final boolean[] contested = new boolean[PLACES];
    private long contestedFrames;

    NextHops() {
        for (int i = 0; i < PLACES; i++) {
            hops[i] = new NextHop();
        }
    }

    /**
     * Learns {@code hop} for {@code peer}'s host from a frame received at {@code now}, never replacing a
     * live hop (class comment).
     *
     * @return the hop a reply to this frame's source may take while the frame is handled, or null:
     * the host is contested (the socket sends)
     */
    NextHop learn(PeerKey peer, NextHop hop, long now) {
        int p = place(peer);
        NextHop known = hops[p];
        if (!known.known() || !holds(p, peer)) {
            if (known.known() && now - seen[p] < HOLD_NANOS) {
                return hop; // another host's live hop holds the place: the reply goes back the frame's way
            }
            take(p, peer, hop, now);
            return known;
        }
        if (known.sameAs(hop)) {
            seen[p] = now;
            if (contested[p] && now - otherSeen[p] >= HOLD_NANOS) {
                contested[p] = false; // the other hop has been silent: the known one was right
            }
            return contested[p] ? null : known;
        }
        if (now - seen[p] >= HOLD_NANOS) {
            take(p, peer, hop, now); // the known hop has been silent: the host moved
            return known;
        }
        contested[p] = true;
        otherSeen[p] = now;
        contestedFrames++;
        return null;
    }

    /** {@return the hop to send {@code peer} frames through, or null: not known or contested (the socket sends)} */
    NextHop of(PeerKey peer) {
        int p = place(peer);
        NextHop hop = hops[p];
        return hop.known() && !contested[p] && holds(p, peer) ? hop : null;
    }

    /** {@return the frames whose hop differed from their host's live one since the last call, and forgets them} */
    long takeContested() {
        long n = contestedFrames;
        contestedFrames = 0;
        return n;
    }

    private boolean holds(int p, PeerKey peer) {
        return family[p] == peer.family() && lo[p] == peer.lo() && hi[p] == peer.hi() && scope[p] == peer.scopeId();
    }

    private void take(int p, PeerKey peer, NextHop hop, long now) {
        family[p] = peer.family();
        hi[p] = peer.hi();
        lo[p] = peer.lo();
        scope[p] = peer.scopeId();
        hops[p].copyFrom(hop);
        seen[p] = now;
        contested[p] = false;
    }

    private int place(PeerKey peer) {
        long h = (peer.hi() ^ seed) * 0x9E3779B97F4A7C15L + (peer.lo() ^ Long.rotateLeft(seed, 29)) * 0xC2B2AE3D27D4EB4FL
                + peer.scopeId();
        h ^= h >>> 31;
        h *= 0x165667B19E3779F9L;
        return (int) (h >>> 40) & (PLACES - 1);
    }
}
