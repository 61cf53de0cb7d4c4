package dev.abyss.server.telemetry;

/**
 * Receives the telemetry events it was {@linkplain Telemetry#attach attached} to, on the thread
 * that emits them (often an acceptor thread: keep it short and never block). A listener that throws
 * is detached and the failure logged; the server is not affected.
 */
@FunctionalInterface
public interface TelemetryListener {
    /**
     * One event.
     *
     * @param event the event; a {@code data} segment in it is valid only during this call
     */
    void handle(TelemetryEvent event);
}
