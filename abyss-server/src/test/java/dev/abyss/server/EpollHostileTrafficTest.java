package dev.abyss.server;

/** {@link HostileTrafficSuite} over {@link TransportKind#EPOLL}. */
class EpollHostileTrafficTest extends HostileTrafficSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
