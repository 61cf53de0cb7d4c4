package dev.abyss.server;

import dev.abyss.server.transport.Transports;
import org.junit.jupiter.api.BeforeEach;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The base of every behaviour suite that runs once per transport, as Netty's testsuite runs one
 * DatagramUnicastTest per transport. A suite ({@code ServerCoreSuite}, ...) is abstract and builds
 * its servers with {@link #builder()} and starts them with {@link #start}; per transport a tiny
 * subclass ({@code EpollServerCoreTest}, {@code IoUringServerCoreTest}, {@code NioServerCoreTest})
 * names the kind. {@code TransportSelectionTest} checks that every suite has a subclass for every
 * kind.
 *
 * <p>A transport that does not work on this machine is skipped with the reason, never failed. A
 * case that needs something a transport cannot do calls {@link #assumeSupports} and is skipped
 * with the reason kept in {@link #MISSING}, the one place that knows what each transport lacks.
 */
abstract class TransportSuite {

    /** What a transport may be unable to do. */
    enum Capability {
        /** Serving AF_UNIX datagram sockets. */
        AF_UNIX,
        /** Telling that a datagram was longer than maxDatagramSize (MSG_TRUNC). */
        TRUNCATION_DETECTION,
        /** Setting IPV6_V6ONLY, so that a [::] socket refuses IPv4 peers. */
        IPV6_ONLY,
        /** Failing with the errno of the failed system call as the cause (a NativeException). */
        NATIVE_ERRNO,
        /** Per-datagram control messages: TOS / traffic class both ways, receive timestamps, GSO sends, GRO receives. */
        DATAGRAM_CONTROL
    }

    /**
     * Per transport, what it cannot do and why; a transport not listed can do everything. NIO does
     * detect truncation: it receives into a buffer longer than any UDP payload and cuts there.
     */
    private static final Map<TransportKind, Map<Capability, String>> MISSING = Map.of(
            TransportKind.NIO, Map.of(
                    Capability.AF_UNIX, "the JDK has no AF_UNIX datagram channel",
                    Capability.IPV6_ONLY, "DatagramChannel has no IPV6_V6ONLY option: [::] is dual-stack as the system default says",
                    Capability.NATIVE_ERRNO, "the JDK's exceptions carry the C library's text, not the errno",
                    Capability.DATAGRAM_CONTROL, "DatagramChannel gives no control messages: no TOS per datagram, no "
                            + "timestamps, no UDP_SEGMENT / UDP_GRO"));

    /** The transport every server of this suite runs on; never AUTO. */
    protected abstract TransportKind transport();

    @BeforeEach
    final void skipWhenTheTransportIsUnavailableHere() {
        String why = Transports.unavailableReason(transport());
        assumeTrue(why == null, () -> "transport " + transport() + " unavailable here: " + why);
    }

    /** Why {@code kind} cannot do {@code c}, or null when it can. */
    private static String lacks(TransportKind kind, Capability c) {
        return MISSING.getOrDefault(kind, Map.of()).get(c);
    }

    /** Skips the running case, with the reason, when this suite's transport cannot do {@code c}. */
    protected final void assumeSupports(Capability c) {
        String why = lacks(transport(), c);
        assumeTrue(why == null, () -> transport() + " cannot do " + c + ": " + why);
    }

    /** A config builder for this suite's transport: every server a suite starts comes from here. */
    protected final ServerConfig.Builder builder() {
        return ServerConfig.builder().transport(transport());
    }

    /** Starts {@code config}, which must ask for this suite's transport, and checks the server runs on it. */
    protected final Server start(ServerConfig config) throws IOException {
        assertEquals(transport(), config.socket().transport(), "a suite's servers run on the suite's transport: build them with builder()");
        Server server = Abyss.start(config);
        if (server.transport() != transport()) {
            server.stop(java.time.Duration.ZERO);
            fail("asked for " + transport() + ", the server reports " + server.transport());
        }
        return server;
    }

    /** Polls {@code condition} until it holds; fails after 5 s naming {@code what}. */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 5 s: " + what);
            }
            Thread.sleep(5); // polling a condition with a deadline, not a sleep as synchronisation
        }
    }
}
