package dev.abyss.server;

/** {@link SocketOptionsSuite} over {@link TransportKind#NIO}. */
class NioSocketOptionsTest extends SocketOptionsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
