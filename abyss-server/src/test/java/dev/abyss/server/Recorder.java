package dev.abyss.server;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A handler that records every callback as text ("connection 0", "data hi 1", "close 2", ...) with
 * the state it saw; the state is a counter of callbacks. Datagram text chooses the result:
 * "close", "error", "throw", "null", "oneshot", "persistent", anything else continues and echoes.
 */
final class Recorder implements Handler<Integer> {
    final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
    volatile BiFunction<Session, Integer, HandlerResult<Integer>> onConnection =
            (s, st) -> HandlerResult.continueWith(st + 1);

    @Override
    public HandlerResult<Integer> handleConnection(Session session, Integer state) {
        events.add("connection " + state);
        return onConnection.apply(session, state);
    }

    @Override
    public HandlerResult<Integer> handleData(Session session, MemorySegment data, Integer state) {
        String text = new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        events.add("data " + text + " " + state);
        return switch (text) {
            case "close" -> HandlerResult.close(state + 1);
            case "error" -> HandlerResult.error("asked", state + 1);
            case "throw" -> throw new IllegalStateException("boom");
            case "null" -> null;
            case "oneshot" -> HandlerResult.continueWith(state + 1, Duration.ofMillis(500)); // room for a loaded 2-core machine between two datagrams
            case "persistent" -> HandlerResult.continuePersistent(state + 1, Duration.ofMillis(500)); // room for a loaded 2-core machine between two datagrams
            default -> {
                session.send(data);
                yield HandlerResult.continueWith(state + 1);
            }
        };
    }

    @Override
    public HandlerResult<Integer> handleMessage(Session session, Object message, Integer state) {
        events.add("message " + message + " " + state);
        return HandlerResult.continueWith(state + 1);
    }

    @Override
    public void handleClose(Integer state) {
        events.add("close " + state);
    }

    @Override
    public void handleError(Object reason, Integer state) {
        events.add("error " + (reason instanceof Throwable t ? t.getClass().getSimpleName() : reason) + " " + state);
    }

    @Override
    public void handleShutdown(Integer state) {
        events.add("shutdown " + state);
    }

    @Override
    public void handleTimeout(Integer state) {
        events.add("timeout " + state);
    }

    /** The next event within 5 s, or null. */
    String next() throws InterruptedException {
        return events.poll(5, TimeUnit.SECONDS);
    }

    String next(long millis) throws InterruptedException {
        return events.poll(millis, TimeUnit.MILLISECONDS);
    }
}
