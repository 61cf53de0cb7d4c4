package dev.abyss.server;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.NativeException;
import dev.abyss.server.engine.ServerEngine;

import java.io.IOException;
import java.net.BindException;

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
     * @param config the server's configuration
     * @return the running server; {@link Server#close()} stops it
     * @throws BindException when the address cannot be bound (in use, not local, not permitted),
     *                       with the address in the message
     * @throws IOException   when a socket or the transport cannot be set up; the message names the
     *                       call and the errno
     * @throws IllegalStateException when the requested transport cannot work on this machine, with the reason
     * @throws IllegalArgumentException when the kernel refuses a socket option's value, a multicast group or
     *                       an interface name ({@link ServerConfig.Builder#socketOption}), naming it
     */
    public static Server start(ServerConfig config) throws IOException {
        try {
            return new Server(config, ServerEngine.start(config));
        } catch (NativeException e) {
            throw javaException(e);
        }
    }

    /** The Java form of a native failure: the errno stays reachable as the cause. */
    private static IOException javaException(NativeException e) {
        IOException mapped = switch (e.errno()) {
            case Errno.EADDRINUSE, Errno.EADDRNOTAVAIL, Errno.EACCES -> new BindException(e.getMessage());
            default -> new IOException(e.getMessage());
        };
        mapped.initCause(e);
        return mapped;
    }
}
