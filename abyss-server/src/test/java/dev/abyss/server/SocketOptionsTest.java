package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The transport options, each observed from a real client. */
@Timeout(60)
class SocketOptionsTest extends TransportSuite {

    private ServerConfig.Builder echo() {
        return builder().handler(new Echo()).shutdownTimeout(Duration.ofMillis(50));
    }

    @Test
    void aDualStackSocketServesIpv4Peers() throws Exception {
        try (Server dual = start(echo().bindAddress(InetAddress.getByName("::")).ipv6Only(false).build())) {
            int port = ((InetSocketAddress) dual.localAddress()).getPort();
            try (Client v4 = new Client(new InetSocketAddress("127.0.0.1", port))) {
                v4.send("over v4-mapped");
                assertEquals("over v4-mapped", v4.receive(5000), "IPV6_V6ONLY off: IPv4 peers reach [::]");
                Session s = dual.session(v4.localAddress());
                assertEquals(((InetSocketAddress) v4.localAddress()).getAddress(), ((InetSocketAddress) s.remoteAddress()).getAddress(),
                        "the peer is keyed and shown as the IPv4 address it is");
            }
        }
    }

    @Test
    void anIpv6OnlySocketDoesNotServeIpv4Peers() throws Exception {
        assumeSupports(Capability.IPV6_ONLY);
        try (Server v6only = start(echo().bindAddress(InetAddress.getByName("::")).ipv6Only(true).build())) {
            int port = ((InetSocketAddress) v6only.localAddress()).getPort();
            try (Client v4 = new Client(new InetSocketAddress("127.0.0.1", port)); Client v6 = new Client(new InetSocketAddress("::1", port))) {
                v4.send("refused");
                v6.send("welcome");
                assertEquals("welcome", v6.receive(5000));
                assertNull(v4.receive(300), "IPV6_V6ONLY on: IPv4 peers do not reach [::]");
                assertEquals(1, v6only.stats().datagramsIn());
            }
        }
    }

    @Test
    void bindAnyServesLoopbackPeers() throws Exception {
        try (Server any = start(echo().bindAny().build());
             Client c = new Client(new InetSocketAddress("127.0.0.1", ((InetSocketAddress) any.localAddress()).getPort()))) {
            c.send("any");
            assertEquals("any", c.receive(5000));
        }
    }

    @Test
    void oneDatagramPerReceiveAndExplicitBuffersStillServeABurstInOrder() throws Exception {
        try (Server server = start(echo().receiveBatchSize(1).receiveBufferSize(1 << 20).sendBufferSize(1 << 20)
                .numAcceptors(1).build()); Client c = new Client(server.localAddress()).receiveBuffer(1 << 20)) {
            for (int i = 0; i < 200; i++) {
                c.send("n" + i);
            }
            for (int i = 0; i < 200; i++) {
                assertEquals("n" + i, c.receive(5000), "batch size 1 keeps order");
            }
            await("200 counted out", server::stats, st -> st.datagramsOut() == 200);
        }
    }
}
