package dev.abyss.server;

/** {@link SocketOptionsSuite} over {@link TransportKind#IO_URING}. */
class IoUringSocketOptionsTest extends SocketOptionsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
