package dev.abyss.server;

/** {@link TelemetrySuite} over {@link TransportKind#IO_URING}. */
class IoUringTelemetryTest extends TelemetrySuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
