package dev.abyss.server;

/** {@link PeersAtScaleSuite} over {@link TransportKind#IO_URING}. */
class IoUringPeersAtScaleTest extends PeersAtScaleSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
