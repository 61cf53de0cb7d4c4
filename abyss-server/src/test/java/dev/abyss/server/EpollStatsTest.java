package dev.abyss.server;

/** {@link StatsSuite} over {@link TransportKind#EPOLL}. */
class EpollStatsTest extends StatsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
