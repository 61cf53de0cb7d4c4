package dev.abyss.server;

/** {@link StatsSuite} over {@link TransportKind#NIO}. */
class NioStatsTest extends StatsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
