package dev.abyss.server.transport.uring;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;

import java.io.IOException;
import java.net.SocketAddress;

/** The IO_URING transport: not built yet. */
public final class UringTransport {
    private UringTransport() {
    }

    public static final TransportFactory FACTORY = new TransportFactory() {
        @Override
        public TransportKind kind() {
            return TransportKind.IO_URING;
        }

        @Override
        public Transport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                              Transport.ReceiveSink receiver, Transport.SendSink sender) throws IOException {
            throw new IllegalStateException("transport IO_URING is not built yet");
        }
    };

    /** Null when this transport works here, else why not. */
    public static String unavailableReason() {
        return "not built yet";
    }
}
