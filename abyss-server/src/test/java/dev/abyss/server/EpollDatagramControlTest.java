package dev.abyss.server;

/** {@link DatagramControlSuite} over {@link TransportKind#EPOLL}. */
class EpollDatagramControlTest extends DatagramControlSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
