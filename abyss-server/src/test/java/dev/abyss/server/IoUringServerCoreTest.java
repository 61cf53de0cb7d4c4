package dev.abyss.server;

/** {@link ServerCoreSuite} over {@link TransportKind#IO_URING}. */
class IoUringServerCoreTest extends ServerCoreSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
