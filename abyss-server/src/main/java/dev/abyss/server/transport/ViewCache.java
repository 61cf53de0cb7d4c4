package dev.abyss.server.transport;

import java.lang.foreign.MemorySegment;

/**
 * The read-only views a transport hands its receive sink, kept and reused so that a steady stream
 * allocates nothing: {@code asSlice(...).asReadOnly()} makes two objects, which escape into the
 * handler and so are never scalar-replaced. Views are kept per receive buffer (a recvmmsg slot, a
 * provided buffer) in a few ways chosen by the caller (the length modulo the ways, or the part of a
 * split receive), and one is reused while it has the same address and length. Created on first
 * use. Owner thread only.
 */
public final class ViewCache {
    private final int buffers;
    private final int ways;
    private MemorySegment[] views;

    /**
     * @param buffers the receive buffers the views point into
     * @param ways    views kept per buffer: a power of two
     */
    public ViewCache(int buffers, int ways) {
        if (Integer.bitCount(ways) != 1) {
            throw new IllegalArgumentException("ways must be a power of two: " + ways);
        }
        this.buffers = buffers;
        this.ways = ways;
    }

    /**
     * {@return a read-only view of the {@code length} bytes at {@code offset} in {@code data},
     * kept for receive buffer {@code buffer} in the place {@code way} picks (modulo the ways)}
     */
    public MemorySegment view(MemorySegment data, int buffer, int way, long offset, int length) {
        if (views == null) {
            views = new MemorySegment[buffers * ways];
        }
        int k = buffer * ways + (way & (ways - 1));
        MemorySegment v = views[k];
        if (v == null || v.byteSize() != length || v.address() != data.address() + offset) {
            v = data.asSlice(offset, length).asReadOnly();
            views[k] = v;
        }
        return v;
    }
}
