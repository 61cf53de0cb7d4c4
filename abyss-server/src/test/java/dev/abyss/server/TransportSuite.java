package dev.abyss.server;

import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The base of every behaviour class that runs once per transport, as Netty's testsuite runs one
 * DatagramUnicastTest per transport. A behaviour class ({@code ServerCoreTest}, {@code StatsTest},
 * ...) extends this one, builds its servers with {@link #builder()} and starts them with
 * {@link #start}; JUnit runs the whole class once per concrete {@link TransportKind} (the
 * {@code @ParameterizedClass} below is inherited), and every test name in a report starts with the
 * kind. A new behaviour class or a new kind needs nothing else.
 *
 * <p>A transport that does not work on this machine is skipped with the reason, never failed. A
 * case that needs something a transport cannot do calls {@link #assumeSupports} and is skipped
 * with the reason kept in {@link #MISSING}, the one place that knows what each transport lacks.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = TransportKind.class, mode = EnumSource.Mode.EXCLUDE, names = "AUTO")
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

    /** The transport every server of this class invocation runs on; never AUTO. */
    @Parameter
    TransportKind transport;

    protected final TransportKind transport() {
        return transport;
    }

    @BeforeEach
    final void skipWhenTheTransportIsUnavailableHere() {
        Skip.ifUnavailable("transport " + transport, Transports.unavailableReason(transport));
    }

    /** Whether this class invocation's transport can do {@code c}. */
    protected final boolean supports(Capability c) {
        return lacks(c) == null;
    }

    /** Skips the running case, with the reason, when this class invocation's transport cannot do {@code c}. */
    protected final void assumeSupports(Capability c) {
        Skip.unless(supports(c), transport + " cannot do " + c + ": " + lacks(c));
    }

    /** Skips the running case when the transport can do {@code c}: the case checks what a transport without it does instead. */
    protected final void assumeLacks(Capability c) {
        Skip.unless(!supports(c), transport + " can do " + c + ": this case is for transports without it");
    }

    /** Why this class invocation's transport cannot do {@code c}, or null when it can. */
    private String lacks(Capability c) {
        return MISSING.getOrDefault(transport, Map.of()).get(c);
    }

    /** A config builder for this class invocation's transport: every server a behaviour class starts comes from here. */
    protected final ServerConfig.Builder builder() {
        return ServerConfig.builder().transport(transport);
    }

    /** Starts {@code config}, which must ask for this class invocation's transport, and checks the server runs on it. */
    protected final Server start(ServerConfig config) throws IOException {
        assertEquals(transport, config.socket().transport(), "a behaviour class's servers run on its transport: build them with builder()");
        Server server = Abyss.start(config);
        if (server.transport() != transport) {
            server.stop(java.time.Duration.ZERO);
            fail("asked for " + transport + ", the server reports " + server.transport());
        }
        return server;
    }
}
