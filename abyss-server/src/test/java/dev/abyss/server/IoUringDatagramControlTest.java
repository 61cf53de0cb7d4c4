package dev.abyss.server;

/** {@link DatagramControlSuite} over {@link TransportKind#IO_URING}. */
class IoUringDatagramControlTest extends DatagramControlSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
