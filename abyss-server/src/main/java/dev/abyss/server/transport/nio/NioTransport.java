package dev.abyss.server.transport.nio;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;

import java.io.IOException;
import java.net.SocketAddress;

/** The NIO transport: not built yet. */
public final class NioTransport {
    private NioTransport() {
    }

    public static final TransportFactory FACTORY = new TransportFactory() {
        @Override
        public TransportKind kind() {
            return TransportKind.NIO;
        }

        @Override
        public Transport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                              Transport.ReceiveSink receiver, Transport.SendSink sender) throws IOException {
            throw new IllegalStateException("transport NIO is not built yet");
        }
    };

    /** Null when this transport works here, else why not. */
    public static String unavailableReason() {
        return "not built yet";
    }
}
