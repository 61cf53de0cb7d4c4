package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import dev.abyss.server.examples.StatelessEcho;
import dev.abyss.server.transport.ReceiveBuffer;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The builder's checks: no server is started, so these run once, not per transport. */
class ServerConfigTest {

    private static ServerConfig.Builder echo() {
        return ServerConfig.builder().handler(new Echo());
    }

    @Test
    void badConfigurationNamesTheOptionAndValue() {
        ServerConfig.Builder b = ServerConfig.builder();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.port(-1)).getMessage().contains("port must be 0..65535, was -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.numAcceptors(0)).getMessage().contains("numAcceptors"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.bindUnix("/" + "p".repeat(120))).getMessage().contains("107"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.readTimeout(Duration.ZERO)).getMessage().contains("readTimeout"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.numConnections(-5)).getMessage().contains("-5"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.maxDatagramSize(70_000)).getMessage().contains("70000"));
        assertTrue(assertThrows(IllegalArgumentException.class, b::build).getMessage().contains("handler"));
        assertThrows(NullPointerException.class, () -> b.handler((Handler<?>) null));
        assertThrows(NullPointerException.class, () -> b.datagramHandler(null));
    }

    @Test
    void theTransportDefaultsToAutoAndIsNeverNull() {
        assertEquals(TransportKind.AUTO, echo().build().socket().transport());
        assertEquals(TransportKind.NIO, echo().transport(TransportKind.NIO).build().socket().transport());
        assertThrows(NullPointerException.class, () -> ServerConfig.builder().transport(null));
    }

    /**
     * Every option's default, as its javadoc, the README and {@code abyss --help} state it: a
     * default changed in the code without its documentation (or the other way) fails here.
     */
    @Test
    void everyDefaultIsTheDocumentedOne() throws Exception {
        ServerConfig c = echo().build();
        Map<String, Object> documented = new LinkedHashMap<>();
        documented.put("bindAddress", new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        documented.put("transport", TransportKind.AUTO);
        documented.put("receiveBufferSize", 0);
        documented.put("sendBufferSize", 0);
        documented.put("reuseAddress", true);
        documented.put("ipv6Only", false);
        documented.put("receiveBatchSize", 64);
        documented.put("maxDatagramSize", 65_536);
        documented.put("truncationPolicy", TruncationPolicy.DROP);
        documented.put("gso", true);
        documented.put("gro", true);
        documented.put("receiveTrafficClass", false);
        documented.put("receiveTimestamps", false);
        documented.put("numAcceptors", Runtime.getRuntime().availableProcessors());
        documented.put("numConnections", 16_384);
        documented.put("fullTablePolicy", FullTablePolicy.EVICT);
        documented.put("maxConnectionsRetryCount", 5);
        documented.put("maxConnectionsRetryWait", Duration.ofSeconds(1));
        documented.put("retryBufferBytes", 1 << 20);
        documented.put("sendQueueBytes", 4 << 20);
        documented.put("mailboxCapacity", 1024);
        documented.put("readTimeout", Duration.ofSeconds(60));
        documented.put("shutdownTimeout", Duration.ofSeconds(15));
        documented.put("inlineCallbackLimit", Duration.ofSeconds(1));
        documented.put("mode", DispatchMode.INLINE);
        documented.put("checkViews", false);
        documented.put("silentTerminateOnError", false);

        Map<String, Object> actual = new LinkedHashMap<>();
        for (Record group : List.of(c.socket(), c.limits(), c.timeouts(), c.dispatch())) {
            for (var component : group.getClass().getRecordComponents()) {
                actual.put(component.getName(), component.getAccessor().invoke(group));
            }
        }
        assertEquals(documented, actual, "every option of every group, at its documented default");
        // receiveBufferSize 0 asks for this much on an IP socket, as documented ("4 MiB")
        assertEquals(4 << 20, ReceiveBuffer.DEFAULT);
    }

    /** Defaults never contradict: where an option cannot apply, its default resolves to what will happen. */
    @Test
    void defaultsResolveToWhatTheServerWillDo() {
        ServerConfig unix = echo().bindUnix("/tmp/abyss-config-test.sock").build();
        assertEquals(UnixDomainSocketAddress.of("/tmp/abyss-config-test.sock"), unix.socket().bindAddress());
        assertEquals(1, unix.limits().numAcceptors(), "one acceptor serves an AF_UNIX socket");
        assertFalse(unix.socket().gso() || unix.socket().gro() || unix.socket().reuseAddress());

        ServerConfig nio = echo().transport(TransportKind.NIO).build();
        assertFalse(nio.socket().gso() || nio.socket().gro(), "NIO has no offloads");

        assertFalse(echo().maxDatagramSize(1500).build().socket().gro(), "GRO needs 64 KiB receive slots");
        assertTrue(echo().numAcceptors(1).bindUnix("/tmp/x").build().limits().numAcceptors() == 1);
        assertTrue(echo().gso(false).gro(false).receiveTrafficClass(false).transport(TransportKind.NIO).build() != null,
                "asking NIO for nothing it lacks is no contradiction");
        ServerConfig stateless = ServerConfig.builder().datagramHandler((peer, data) -> { }).build();
        assertInstanceOf(HandlerChoice.Stateless.class, stateless.handler());
        ServerConfig virtual = echo().dispatchMode(DispatchMode.VIRTUAL_THREADS).build();
        assertEquals(DispatchMode.VIRTUAL_THREADS, virtual.dispatch().mode());
    }

    /** Every contradiction build() can see is refused, naming both options with their values. */
    @Test
    void contradictionsAreRefusedNamingBothOptions() throws Exception {
        InetAddress any6 = InetAddress.getByName("::");
        record Case(UnaryOperator<ServerConfig.Builder> options, String... said) {
        }
        SegmentHandler segments = (session, data) -> { };
        DatagramHandler stateless = new StatelessEcho();
        List<Case> cases = List.of(
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").port(5), "port 5", "bindUnix '/tmp/x'", "AF_UNIX"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").numAcceptors(4), "numAcceptors 4", "bindUnix '/tmp/x'"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").transport(TransportKind.NIO), "transport NIO", "bindUnix"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").reuseAddress(true), "reuseAddress true", "bindUnix"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").ipv6Only(true), "ipv6Only true", "bindUnix"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").gso(true), "gso true", "bindUnix"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").gro(true), "gro true", "bindUnix"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").receiveTrafficClass(true), "receiveTrafficClass true", "bindUnix"),
                new Case(b -> b.handler(new Echo()).bindUnix("/tmp/x").receiveTimestamps(true), "receiveTimestamps true", "bindUnix"),
                new Case(b -> b.handler(new Echo()).transport(TransportKind.NIO).gso(true), "gso true", "transport NIO"),
                new Case(b -> b.handler(new Echo()).transport(TransportKind.NIO).gro(true), "gro true", "transport NIO"),
                new Case(b -> b.handler(new Echo()).transport(TransportKind.NIO).receiveTrafficClass(true),
                        "receiveTrafficClass true", "transport NIO"),
                new Case(b -> b.handler(new Echo()).transport(TransportKind.NIO).receiveTimestamps(true),
                        "receiveTimestamps true", "transport NIO"),
                new Case(b -> b.handler(new Echo()).transport(TransportKind.NIO).bindAddress(any6).ipv6Only(true), "ipv6Only true",
                        "transport NIO"),
                new Case(b -> b.handler(new Echo()).bindLoopback().ipv6Only(true), "ipv6Only true", "bindAddress 127.0.0.1"),
                new Case(b -> b.handler(new Echo()).gro(true).maxDatagramSize(1500), "gro true", "maxDatagramSize 1500"),
                new Case(b -> b.segmentHandler(segments).dispatchMode(DispatchMode.VIRTUAL_THREADS),
                        "dispatchMode VIRTUAL_THREADS", "segmentHandler"),
                new Case(b -> b.datagramHandler(stateless).dispatchMode(DispatchMode.VIRTUAL_THREADS),
                        "dispatchMode VIRTUAL_THREADS", "datagramHandler StatelessEcho"),
                new Case(b -> b.handler(new Echo()).dispatchMode(DispatchMode.VIRTUAL_THREADS).inlineCallbackLimit(Duration.ofSeconds(2)),
                        "inlineCallbackLimit PT2S", "dispatchMode VIRTUAL_THREADS"),
                new Case(b -> b.handler(new Echo()).dispatchMode(DispatchMode.VIRTUAL_THREADS).checkViews(true),
                        "checkViews true", "dispatchMode VIRTUAL_THREADS"),
                new Case(b -> b.datagramHandler(stateless).numConnections(10), "numConnections 10", "datagramHandler StatelessEcho"),
                new Case(b -> b.datagramHandler(stateless).fullTablePolicy(FullTablePolicy.REFUSE), "fullTablePolicy REFUSE",
                        "datagramHandler"),
                new Case(b -> b.datagramHandler(stateless).maxConnectionsRetryCount(1), "maxConnectionsRetryCount 1", "datagramHandler"),
                new Case(b -> b.datagramHandler(stateless).maxConnectionsRetryWait(Duration.ofMillis(5)),
                        "maxConnectionsRetryWait PT0.005S", "datagramHandler"),
                new Case(b -> b.datagramHandler(stateless).retryBufferBytes(1 << 16), "retryBufferBytes 65536", "datagramHandler"),
                new Case(b -> b.datagramHandler(stateless).readTimeout(Duration.ofSeconds(5)), "readTimeout PT5S", "datagramHandler"),
                new Case(b -> b.datagramHandler(stateless).mailboxCapacity(8), "mailboxCapacity 8", "datagramHandler"),
                new Case(b -> b.datagramHandler(stateless).silentTerminateOnError(true), "silentTerminateOnError true",
                        "datagramHandler"),
                new Case(b -> b.datagramHandler(stateless).checkViews(true), "checkViews true", "datagramHandler"),
                new Case(b -> b.handler(new Echo()).maxConnectionsRetryCount(0).maxConnectionsRetryWait(Duration.ofMillis(5)),
                        "maxConnectionsRetryWait PT0.005S", "maxConnectionsRetryCount 0"),
                new Case(b -> b.handler(new Echo()).maxConnectionsRetryCount(0).retryBufferBytes(1 << 16),
                        "retryBufferBytes 65536", "maxConnectionsRetryCount 0"));
        List<String> wrong = new ArrayList<>();
        for (Case c : cases) {
            String message;
            try {
                c.options().apply(ServerConfig.builder()).build();
                wrong.add(List.of(c.said()) + ": built");
                continue;
            } catch (IllegalArgumentException e) {
                message = e.getMessage();
            }
            for (String s : c.said()) {
                if (!message.contains(s)) {
                    wrong.add(List.of(c.said()) + ": '" + message + "' lacks '" + s + "'");
                }
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    @Test
    void theHandlerIsOneChoice() {
        Echo echo = new Echo();
        ServerConfig sessions = ServerConfig.builder().datagramHandler(new StatelessEcho()).handler(echo, null).build();
        HandlerChoice.Sessions<?> s = assertInstanceOf(HandlerChoice.Sessions.class, sessions.handler(), "the last one set wins");
        assertSame(echo, s.handler());
        assertNull(s.initialState().get());

        Object options = new Object();
        var withOptions = (HandlerChoice.Sessions<?>) ServerConfig.builder().handler(new KeepingHandler(), options).build().handler();
        assertSame(options, withOptions.initialState().get(), "handler_options: the same state for every session");
        var fresh = (HandlerChoice.Sessions<?>) ServerConfig.builder().sessionHandler(new KeepingHandler(), () -> new int[1])
                .build().handler();
        assertNotSame(fresh.initialState().get(), fresh.initialState().get(), "a supplier: a state per session");

        SegmentHandler raw = (session, data) -> { };
        Function<HandlerChoice, Object> handlerOf = choice -> switch (choice) {
            case HandlerChoice.Sessions<?> h -> h.handler();
            case HandlerChoice.Segments h -> h.handler();
            case HandlerChoice.Stateless h -> h.handler();
        };
        assertSame(raw, handlerOf.apply(ServerConfig.builder().handler(echo).segmentHandler(raw).build().handler()));
    }

    @Test
    void theLargestReceiveIsNotTheLargestSend() {
        assertEquals(65_536, ServerConfig.MAX_RECEIVE_SIZE, "a coalesced GRO receive");
        assertEquals(65_507, Peer.MAX_PAYLOAD_IPV4, "what a send to an IPv4 peer accepts");
        assertEquals(65_527, Peer.MAX_PAYLOAD_IPV6, "what a send to an IPv6 peer accepts");
        assertEquals(ServerConfig.MAX_RECEIVE_SIZE, echo().build().socket().maxDatagramSize());
    }

    /** A handler that keeps its state as it is. */
    private static final class KeepingHandler implements Handler<Object> {
    }
}
