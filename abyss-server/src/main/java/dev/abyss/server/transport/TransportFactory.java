package dev.abyss.server.transport;

import dev.abyss.server.TransportKind;

import java.io.IOException;
import java.net.SocketAddress;

/**
 * Opens the transports of one kind: one per acceptor, each with its sinks bound for its whole life.
 *
 * @param kind   the kind this factory opens (EPOLL, IO_URING or NIO)
 * @param opener how to open one
 */
public record TransportFactory(TransportKind kind, Opener opener) {

    /** A transport's open method. */
    @FunctionalInterface
    public interface Opener {
        Transport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                       Transport.ReceiveSink receiver, Transport.SendSink sender) throws IOException;

        /**
         * The acceptors to open, given the configured number: the configured number, except for a
         * transport whose acceptors are fixed by what it serves (XDP: one per RX queue).
         *
         * @param configured {@code ServerConfig.limits().numAcceptors()}
         * @return at least 1
         */
        default int acceptors(int configured) {
            return configured;
        }

        /** {@return what the start line says about the transports opened (XDP: mode, copy, queues), or ""} */
        default String describe() {
            return "";
        }
    }

    /**
     * Opens a socket bound to {@code address} and the machinery to drive it.
     *
     * @param reusePort  SO_REUSEPORT, so every acceptor binds the same address
     * @param probeFirst first prove the address is free (and pick the port for port 0)
     */
    public Transport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                          Transport.ReceiveSink receiver, Transport.SendSink sender) throws IOException {
        return opener.open(settings, address, reusePort, probeFirst, receiver, sender);
    }
}
