package dev.abyss.server.examples;

import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Session;

import java.lang.foreign.MemorySegment;

/** Sends every datagram back to its sender. */
public final class Echo implements Handler<Object> {
    /** A stateless echo handler; one instance serves every session. */
    public Echo() {
    }

    @Override
    public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
        session.send(data);
        return HandlerResult.continueWith(state);
    }
}
