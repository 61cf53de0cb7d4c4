package dev.abyss.server;

/** {@link TelemetrySuite} over {@link TransportKind#NIO}. */
class NioTelemetryTest extends TelemetrySuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
