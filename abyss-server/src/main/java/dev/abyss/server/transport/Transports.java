package dev.abyss.server.transport;

import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.epoll.EpollTransport;
import dev.abyss.server.transport.nio.NioTransport;
import dev.abyss.server.transport.uring.UringTransport;
import dev.abyss.server.transport.xdp.XdpTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Picks the transport: an explicit kind, or for {@link TransportKind#AUTO} the best one that works
 * here (IO_URING, else EPOLL, else NIO), logging once at info why each better one was passed over.
 *
 * <p>For tests and operators, the system property {@code abyss.transport.unavailable} (a comma
 * separated list of kinds, e.g. {@code io_uring} or {@code io_uring,epoll}) makes those kinds
 * unavailable, as a kernel with io_uring disabled or a JVM without native access would.
 */
public final class Transports {
    private static final Logger LOG = LoggerFactory.getLogger(Transports.class);
    /** Fallback reasons already logged: once per reason per JVM. */
    private static final ConcurrentHashMap<String, Boolean> LOGGED = new ConcurrentHashMap<>();

    private Transports() {
    }

    /**
     * The factory for {@code requested}.
     *
     * @throws IllegalStateException when an explicitly requested kind cannot work here, with the reason
     */
    public static TransportFactory select(TransportKind requested) {
        return switch (requested) {
            case IO_URING -> require(TransportKind.IO_URING, Transports::uringProblem, UringTransport.FACTORY);
            case EPOLL -> require(TransportKind.EPOLL, Transports::epollProblem, EpollTransport.FACTORY);
            case NIO -> require(TransportKind.NIO, Transports::nioProblem, NioTransport.FACTORY);
            case XDP -> throw new IllegalStateException("transport XDP is opened for one server's config: Transports.select(config)");
            case AUTO -> auto();
        };
    }

    /**
     * The factory for {@code config}'s transport; for {@link TransportKind#XDP} one of that server's
     * own (its interface, queues and program).
     *
     * @throws IllegalStateException when the transport cannot work here, with the reason
     */
    public static TransportFactory select(ServerConfig config) {
        TransportKind kind = config.socket().transport();
        if (kind != TransportKind.XDP) {
            return select(kind);
        }
        String p = forced(TransportKind.XDP, NativeAccess::unavailableReason);
        if (p != null) {
            throw new IllegalStateException("transport XDP unavailable: " + p);
        }
        return XdpTransport.factory(config);
    }

    /** Why {@code kind} cannot work here, or null when it can. */
    public static String unavailableReason(TransportKind kind) {
        return switch (kind) {
            case IO_URING -> uringProblem();
            case EPOLL -> epollProblem();
            case NIO -> nioProblem();
            case XDP -> forced(TransportKind.XDP, () -> XdpTransport.SUITE_REASON);
            case AUTO -> null;
        };
    }

    private static TransportFactory auto() {
        String uring = uringProblem();
        if (uring == null) {
            return UringTransport.FACTORY;
        }
        String epoll = epollProblem();
        if (epoll == null) {
            logOnce("io_uring unavailable: " + uring + "; using epoll");
            return EpollTransport.FACTORY;
        }
        String nio = nioProblem();
        if (nio == null) {
            logOnce("io_uring unavailable: " + uring + "; epoll unavailable: " + epoll + "; using nio");
            return NioTransport.FACTORY;
        }
        throw new IllegalStateException("no transport works here: io_uring: " + uring + "; epoll: " + epoll + "; nio: " + nio);
    }

    private static String uringProblem() {
        return forced(TransportKind.IO_URING, () -> {
            String p = NativeAccess.unavailableReason();
            return p != null ? p : UringTransport.unavailableReason();
        });
    }

    private static String epollProblem() {
        return forced(TransportKind.EPOLL, NativeAccess::unavailableReason);
    }

    private static String nioProblem() {
        return forced(TransportKind.NIO, NioTransport::unavailableReason);
    }

    private static String forced(TransportKind kind, Supplier<String> actual) {
        String off = System.getProperty("abyss.transport.unavailable", "");
        for (String k : off.split(",")) {
            if (k.trim().replace("_", "").equalsIgnoreCase(kind.name().replace("_", ""))) {
                return "disabled by -Dabyss.transport.unavailable=" + off;
            }
        }
        return actual.get();
    }

    private static TransportFactory require(TransportKind kind, Supplier<String> problem, TransportFactory factory) {
        String p = problem.get();
        if (p != null) {
            throw new IllegalStateException("transport " + kind + " unavailable: " + p);
        }
        return factory;
    }

    private static void logOnce(String message) {
        if (LOGGED.putIfAbsent(message, Boolean.TRUE) == null) {
            LOG.info(message);
        }
    }
}
