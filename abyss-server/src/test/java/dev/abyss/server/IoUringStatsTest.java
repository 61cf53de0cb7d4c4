package dev.abyss.server;

/** {@link StatsSuite} over {@link TransportKind#IO_URING}. */
class IoUringStatsTest extends StatsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
