package dev.abyss.server.examples;

import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Session;

import java.nio.charset.StandardCharsets;

/** Sends "Hello, World" to each new peer, then closes its session. */
public final class HelloWorld implements Handler<Object> {
    private static final byte[] HELLO = "Hello, World".getBytes(StandardCharsets.US_ASCII);

    /** A stateless handler; one instance serves every session. */
    public HelloWorld() {
    }

    @Override
    public HandlerResult<Object> handleConnection(Session session, Object state) {
        session.send(HELLO);
        return HandlerResult.close(state);
    }
}
