package dev.abyss.server;

/** {@link ServerCoreSuite} over {@link TransportKind#NIO}. */
class NioServerCoreTest extends ServerCoreSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
