package dev.abyss.server;

/** {@link HostileTrafficSuite} over {@link TransportKind#IO_URING}. */
class IoUringHostileTrafficTest extends HostileTrafficSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
