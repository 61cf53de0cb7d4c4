package dev.abyss.server;

/** {@link DispatchAndFaultsSuite} over {@link TransportKind#EPOLL}. */
class EpollDispatchAndFaultsTest extends DispatchAndFaultsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
