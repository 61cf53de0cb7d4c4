package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The builder's checks: no server is started, so these run once, not per transport. */
class ServerConfigTest {

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
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ServerConfig.builder().shutdownTimeout(Duration.ofMillis(100)).handler(new Echo())
                .bindUnix("/tmp/x").port(5).build()).getMessage().contains("AF_UNIX"));
    }

    @Test
    void theTransportDefaultsToAutoAndIsNeverNull() {
        assertEquals(TransportKind.AUTO, ServerConfig.builder().handler(new Echo()).build().transport());
        assertEquals(TransportKind.NIO, ServerConfig.builder().handler(new Echo()).transport(TransportKind.NIO).build().transport());
        assertThrows(NullPointerException.class, () -> ServerConfig.builder().transport(null));
    }
}
