package dev.abyss.server;

/** {@link ServerCoreSuite} over {@link TransportKind#EPOLL}. */
class EpollServerCoreTest extends ServerCoreSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
