package dev.abyss.server;

/** {@link SocketOptionsSuite} over {@link TransportKind#EPOLL}. */
class EpollSocketOptionsTest extends SocketOptionsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
