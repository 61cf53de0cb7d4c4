package dev.abyss.server;

/** {@link PeersAtScaleSuite} over {@link TransportKind#EPOLL}. */
class EpollPeersAtScaleTest extends PeersAtScaleSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
