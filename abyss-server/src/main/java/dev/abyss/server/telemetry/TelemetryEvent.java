package dev.abyss.server.telemetry;

import java.util.Map;

/**
 * One telemetry event: its name (the reference's event list joined with dots, e.g.
 * {@code abyss.connection.stop} for {@code [:abyss, :connection, :stop]}), its measurements and its
 * metadata, with the reference's keys ({@code monotonic_time}, {@code duration} in nanoseconds,
 * {@code send_oct}, {@code telemetry_span_context}, {@code remote_address}, ...).
 *
 * <p>A {@code data} measurement of a recv or send event is a read-only {@link java.lang.foreign.MemorySegment}
 * valid only while the listener runs: copy what you keep.
 *
 * @param name         the event's name, e.g. {@code "abyss.connection.stop"}
 * @param measurements numbers and data of the event, by the reference's keys
 * @param metadata     what the event is about (span contexts, addresses, reasons), by the reference's keys
 */
public record TelemetryEvent(String name, Map<String, Object> measurements, Map<String, Object> metadata) {
}
