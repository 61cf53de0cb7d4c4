package dev.abyss.server.transport;

/**
 * The transport's socket is gone: its descriptor was closed underneath the server (EBADF) or now
 * names something that is not a socket (ENOTSOCK). Nothing sent or received on it can work again;
 * the acceptor gives up at once and the server stops, with this as {@code Server.failure()}.
 */
public final class SocketLostException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public SocketLostException(String message) {
        super(message);
    }
}
