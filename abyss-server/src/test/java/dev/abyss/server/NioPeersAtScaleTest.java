package dev.abyss.server;

/** {@link PeersAtScaleSuite} over {@link TransportKind#NIO}. */
class NioPeersAtScaleTest extends PeersAtScaleSuite {
    @Override
    protected TransportKind transport() {
        return TransportKind.NIO;
    }
}
