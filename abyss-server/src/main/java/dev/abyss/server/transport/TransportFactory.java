package dev.abyss.server.transport;

import java.io.IOException;
import java.net.SocketAddress;

/** Opens the transports of one kind: one per acceptor, each with its sinks bound for its whole life. */
public interface TransportFactory {

    /** The kind this factory opens (EPOLL, IO_URING or NIO). */
    dev.abyss.server.TransportKind kind();

    /**
     * Opens a socket bound to {@code address} and the machinery to drive it.
     *
     * @param reusePort  SO_REUSEPORT, so every acceptor binds the same address
     * @param probeFirst first prove the address is free (and pick the port for port 0)
     */
    Transport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                   Transport.ReceiveSink receiver, Transport.SendSink sender) throws IOException;
}
