package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;

/**
 * Delivers a coalesced (UDP_GRO) receive as the datagrams it was: {@code segment}-byte read-only
 * views into the one buffer, the last one shorter, each handed to the sink on its own. Views are
 * kept per (receive buffer, part) and reused while their address and size match, so a steady
 * stream of coalesced receives allocates nothing. One per transport, owner thread only.
 */
public final class GroSplit {
    /** Parts whose views are kept per buffer: the kernel coalesces at most 64 datagrams. */
    private static final int PARTS = 64;

    private final int buffers;
    private MemorySegment[] views; // created on the first coalesced receive

    /** @param buffers how many receive buffers (recvmmsg slots, provided buffers) the transport has */
    public GroSplit(int buffers) {
        this.buffers = buffers;
    }

    /**
     * Hands the {@code length} bytes at {@code offset} in {@code data} (receive buffer
     * {@code buffer}) to {@code sink} as datagrams from {@code peer} of {@code segment} bytes;
     * {@code truncated} marks the last one (a cut can only shorten the end). Returns the parts.
     */
    public int deliver(Transport.ReceiveSink sink, PeerKey peer, MemorySegment data, int buffer, long offset, int length,
                       int segment, ReceivedDatagram facts) {
        boolean truncated = facts.truncated();
        int parts = (length + segment - 1) / segment;
        sink.onCoalesced(parts);
        if (views == null) {
            views = new MemorySegment[buffers * PARTS];
        }
        int part = 0;
        for (int at = 0; at < length; at += segment, part++) {
            int len = Math.min(segment, length - at);
            int k = buffer * PARTS + part;
            MemorySegment v = part < PARTS ? views[k] : null;
            if (v == null || v.byteSize() != len || v.address() != data.address() + offset + at) {
                v = data.asSlice(offset + at, len).asReadOnly();
                if (part < PARTS) {
                    views[k] = v;
                }
            }
            facts.truncatedPart(truncated && at + len >= length);
            sink.onDatagram(peer, v, facts);
        }
        return parts;
    }
}
