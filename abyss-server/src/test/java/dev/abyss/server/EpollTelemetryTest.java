package dev.abyss.server;

/** {@link TelemetrySuite} over {@link TransportKind#EPOLL}. */
class EpollTelemetryTest extends TelemetrySuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
