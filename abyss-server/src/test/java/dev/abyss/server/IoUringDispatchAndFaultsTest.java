package dev.abyss.server;

/** {@link DispatchAndFaultsSuite} over {@link TransportKind#IO_URING}. */
class IoUringDispatchAndFaultsTest extends DispatchAndFaultsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
