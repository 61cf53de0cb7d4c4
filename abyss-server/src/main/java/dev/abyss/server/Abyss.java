package dev.abyss.server;

import dev.abyss.ffi.NativeException;
import dev.abyss.server.engine.ServerEngine;

/**
 * Starts Abyss servers. The Java form of {@code Abyss.start_link/1}:
 *
 * <pre>{@code
 * try (Server server = Abyss.start(ServerConfig.builder()
 *         .handler(new Echo())
 *         .port(1234)
 *         .build())) {
 *     ...
 * }
 * }</pre>
 */
public final class Abyss {
    private Abyss() {
    }

    /**
     * Binds every acceptor's socket and starts serving.
     *
     * @throws NativeException when the socket cannot be opened or bound; e.g. errno EADDRINUSE with
     *                         the address in the message when the port is taken
     */
    public static Server start(ServerConfig config) throws NativeException {
        return new Server(config, ServerEngine.start(config));
    }
}
