package dev.abyss.server.transport;

import java.io.Serial;
import java.net.SocketAddress;

/**
 * The "address" an acceptor opens when it adopts a socket it was given (systemd socket activation)
 * instead of binding one: the descriptor and where it is bound. {@link UdpSocket#open} adopts it
 * (the native transports, written once); NIO cannot wrap a descriptor and never sees one (the
 * config and the engine refuse it before).
 */
public final class AdoptedSocket extends SocketAddress {
    @Serial
    private static final long serialVersionUID = 1L;

    private final int fd;
    private final SocketAddress bound;

    /**
     * @param fd    the inherited descriptor
     * @param bound its local address (getsockname)
     */
    public AdoptedSocket(int fd, SocketAddress bound) {
        this.fd = fd;
        this.bound = bound;
    }

    /** {@return the inherited descriptor} */
    public int fd() {
        return fd;
    }

    /** {@return where it is bound} */
    public SocketAddress bound() {
        return bound;
    }

    @Override
    public String toString() {
        return bound + " (inherited fd " + fd + ")";
    }
}
