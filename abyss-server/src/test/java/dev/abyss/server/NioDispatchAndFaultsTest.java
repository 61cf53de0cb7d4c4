package dev.abyss.server;

/** {@link DispatchAndFaultsSuite} over {@link TransportKind#NIO}. */
class NioDispatchAndFaultsTest extends DispatchAndFaultsSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
