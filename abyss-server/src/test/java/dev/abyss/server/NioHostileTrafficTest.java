package dev.abyss.server;

/** {@link HostileTrafficSuite} over {@link TransportKind#NIO}. */
class NioHostileTrafficTest extends HostileTrafficSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
