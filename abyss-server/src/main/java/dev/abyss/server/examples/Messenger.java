package dev.abyss.server.examples;

import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Session;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Prints what each peer sends; other threads {@link Session#post post} {@link Send} messages to a
 * session, which it sends to the peer (the original's Messenger with {@code handle_info}).
 */
public final class Messenger implements Handler<Object> {
    /**
     * Posted to a session: send {@code text} to its peer.
     *
     * @param text what the session sends, as UTF-8
     */
    public record Send(String text) {
    }

    private final Consumer<String> out;

    /** A messenger that prints to {@code System.out}. */
    public Messenger() {
        this(System.out);
    }

    /**
     * A messenger that prints to {@code out}.
     *
     * @param out receives every datagram's text, prefixed with the sender, one line each
     */
    public Messenger(PrintStream out) {
        this(out::println);
    }

    /**
     * A messenger that hands every datagram's text to {@code out}.
     *
     * @param out receives every datagram's text, prefixed with the sender
     */
    public Messenger(Consumer<String> out) {
        this.out = out;
    }

    @Override
    public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
        out.accept(session.remoteAddress() + ": " + new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8));
        return HandlerResult.continueWith(state);
    }

    @Override
    public HandlerResult<Object> handleMessage(Session session, Object message, Object state) {
        if (message instanceof Send(String text)) {
            session.send(text.getBytes(StandardCharsets.UTF_8));
        }
        return HandlerResult.continueWith(state);
    }
}
