package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import dev.abyss.server.transport.xdp.XdpTransport;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The XDP options as the builder takes them, refuses them, and what a start without an interface
 * to serve says. Nothing here attaches a program (that runs in network namespaces: native-tests
 * XdpTransportTest).
 */
class XdpConfigTest {

    private static ServerConfig.Builder xdp() {
        return ServerConfig.builder().handler(new Echo()).transport(TransportKind.XDP).port(7400);
    }

    @Test
    void defaultsAndOptionsReadBack() {
        ServerConfig c = xdp().xdpInterface("eth0").xdpQueues(2).xdpAttach(ServerConfig.XdpOptions.Attach.GENERIC)
                .xdpCopy(ServerConfig.XdpOptions.Copy.COPY).xdpUmemFrames(1024).xdpIpv4UdpChecksum(false).build();
        assertEquals(new ServerConfig.XdpOptions("eth0", 2, ServerConfig.XdpOptions.Attach.GENERIC,
                ServerConfig.XdpOptions.Copy.COPY, 1024, false, false), c.xdp());
        ServerConfig d = xdp().build();
        assertEquals(new ServerConfig.XdpOptions(null, 0, ServerConfig.XdpOptions.Attach.AUTO,
                ServerConfig.XdpOptions.Copy.AUTO, 4096, true, false), d.xdp());
    }

    @Test
    void theBuilderRefusesWhatCannotHoldTogether() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.builder().handler(new Echo()).transport(TransportKind.EPOLL).xdpInterface("eth0").build());
        assertEquals("xdpInterface eth0 contradicts transport EPOLL: the xdp* options are those of transport XDP", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> xdp().numAcceptors(2).build());
        assertTrue(e.getMessage().startsWith("numAcceptors 2 contradicts transport XDP"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ServerConfig.builder().handler(new Echo())
                .transport(TransportKind.XDP).bindUnix("/tmp/abyss-xdp-test.sock").build());
        assertTrue(e.getMessage().startsWith("transport XDP contradicts bindUnix"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> xdp().xdpUmemFrames(1000));
        assertEquals("xdpUmemFrames must be a power of two >= 256, was 1000", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> xdp().xdpQueues(-1));
        assertEquals("xdpQueues must be >= 0 (0: all), was -1", e.getMessage());
    }

    @Test
    void startNamesAnUnknownInterface() throws Exception {
        ServerConfig c = xdp().xdpInterface("abyss-none0").bindAddress(InetAddress.getByName("127.0.0.1")).build();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Abyss.start(c));
        assertTrue(e.getMessage().contains("unknown interface 'abyss-none0'"), e.getMessage());
    }

    @Test
    void startRefusesLoopbackAndAWildcardWithoutAnInterface() throws Exception {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Abyss.start(xdp().bindAddress(InetAddress.getByName("127.0.0.1")).build()));
        assertTrue(e.getMessage().contains("transport XDP unavailable on loopback"), e.getMessage());
        assertTrue(e.getMessage().contains(XdpTransport.SUITE_REASON), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> Abyss.start(xdp().bindAddress(InetAddress.getByName("0.0.0.0")).build()));
        assertTrue(e.getMessage().contains("name it with xdpInterface"), e.getMessage());
    }
}
