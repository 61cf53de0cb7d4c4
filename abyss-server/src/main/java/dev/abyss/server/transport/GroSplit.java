package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;

/**
 * Delivers a coalesced (UDP_GRO) receive as the datagrams it was: {@code segment}-byte read-only
 * views into the one buffer, the last one shorter, each handed to the sink on its own with the
 * receive's facts (only the last part carries its cut). Views are kept per (receive buffer, part)
 * ({@link ViewCache}), so a steady stream of coalesced receives allocates nothing. One per
 * transport, owner thread only.
 */
public final class GroSplit {
    /** Parts whose views are kept per buffer: the kernel coalesces at most 64 datagrams. */
    private static final int PARTS = 64;

    private final ViewCache views;

    /** @param buffers how many receive buffers (recvmmsg slots, provided buffers) the transport has */
    public GroSplit(int buffers) {
        this.views = new ViewCache(buffers, PARTS);
    }

    /**
     * Hands the {@code length} bytes at {@code offset} in {@code data} (receive buffer
     * {@code buffer}) to {@code sink} as datagrams from {@code peer} of {@code segment} bytes, each
     * with {@code facts} (read for the whole receive: its truncation is moved to the last part, as
     * a cut can only shorten the end). Returns the parts.
     */
    public int deliver(Transport.ReceiveSink sink, PeerKey peer, MemorySegment data, int buffer, long offset, int length,
                       int segment, ReceivedDatagram facts) {
        int parts = (length + segment - 1) / segment;
        boolean truncated = facts.truncated();
        sink.onCoalesced(parts);
        int part = 0;
        for (int at = 0; at < length; at += segment, part++) {
            int len = Math.min(segment, length - at);
            facts.truncatedPart(truncated && at + len >= length);
            sink.onDatagram(peer, views.view(data, buffer, part, offset + at, len), facts);
        }
        return parts;
    }
}
