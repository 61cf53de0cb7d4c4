package dev.abyss.server;

/** {@link DatagramControlSuite} over {@link TransportKind#NIO}. */
class NioDatagramControlTest extends DatagramControlSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
