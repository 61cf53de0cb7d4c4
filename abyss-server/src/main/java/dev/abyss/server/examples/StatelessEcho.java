package dev.abyss.server.examples;

import dev.abyss.server.DatagramHandler;
import dev.abyss.server.Peer;

import java.lang.foreign.MemorySegment;

/**
 * Sends every datagram back to its sender without a session: an echo has nothing to remember, so
 * any number of peers costs no table place, timer or allocation (the CLI's {@code --handler echo}).
 */
public final class StatelessEcho implements DatagramHandler {
    /** One instance serves every datagram. */
    public StatelessEcho() {
    }

    @Override
    public void handle(Peer peer, MemorySegment data) {
        peer.send(data);
    }
}
