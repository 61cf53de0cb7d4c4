package dev.abyss.server.engine;

import dev.abyss.server.DatagramInfo;

import java.net.SocketAddress;

/**
 * The facts of a datagram whose control messages are gone: one that waited in the retry ring for a
 * place in a full table (only its truncation was kept), or none outside a callback.
 */
enum DatagramFacts implements DatagramInfo {
    /** Nothing known, not truncated. */
    NONE(false),
    /** Nothing known but its truncation. */
    TRUNCATED(true);

    private final boolean truncated;

    DatagramFacts(boolean truncated) {
        this.truncated = truncated;
    }

    static DatagramFacts of(boolean truncated) {
        return truncated ? TRUNCATED : NONE;
    }

    @Override
    public SocketAddress destination() {
        return null;
    }

    @Override
    public int interfaceIndex() {
        return 0;
    }

    @Override
    public int trafficClass() {
        return -1;
    }

    @Override
    public long timestampNanos() {
        return -1;
    }

    @Override
    public int segmentSize() {
        return 0;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }
}
