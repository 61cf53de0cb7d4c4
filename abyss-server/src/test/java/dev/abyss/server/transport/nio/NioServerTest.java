package dev.abyss.server.transport.nio;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.TruncationPolicy;
import dev.abyss.server.examples.Echo;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole server on the NIO transport, through the public API. */
@Timeout(60)
class NioServerTest {

    private static ServerConfig.Builder nio(String host) throws IOException {
        return ServerConfig.builder().transport(TransportKind.NIO).handler(new Echo())
                .bindAddress(InetAddress.getByName(host)).shutdownTimeout(Duration.ofMillis(100));
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void echoes(String host) throws Exception {
        Server server = Abyss.start(nio(host).numAcceptors(2).build());
        List<UdpPeer> clients = new ArrayList<>();
        try {
            assertEquals(TransportKind.NIO, server.transport());
            InetSocketAddress at = (InetSocketAddress) server.localAddress();
            for (int i = 0; i < 8; i++) { // several peers: the two SO_REUSEPORT acceptors share them
                UdpPeer c = new UdpPeer(host);
                clients.add(c);
                c.send("hello " + i, at);
                assertEquals("hello " + i, c.receiveText(5000));
            }
            UdpPeer c = clients.getFirst();
            c.send(new byte[0], at);
            assertArrayEquals(new byte[0], c.receive(5000), "a zero-length datagram is echoed as empty");
            byte[] big = new byte[60_000];
            big[59_999] = 7;
            c.send(big, at);
            assertArrayEquals(big, c.receive(5000), "nothing is cut at the default size");
            await("10 echoes counted", server::stats, st -> st.datagramsOut() == 10);
            assertEquals(8, server.sessions());
            assertEquals(0, server.stats().sendErrors());
        } finally {
            server.close();
            for (UdpPeer c : clients) {
                c.close();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(TruncationPolicy.class)
    void truncationPolicyApplies(TruncationPolicy policy) throws Exception {
        try (Server server = Abyss.start(nio("127.0.0.1").maxDatagramSize(100).truncationPolicy(policy).build());
             UdpPeer c = new UdpPeer("127.0.0.1")) {
            byte[] big = new byte[300];
            Arrays.fill(big, (byte) 'x');
            c.send(big, server.localAddress());
            await("the datagram counted truncated", server::stats, st -> st.truncated() == 1);
            if (policy == TruncationPolicy.DELIVER) {
                assertArrayEquals(Arrays.copyOf(big, 100), c.receive(5000), "the part that fit");
            } else {
                c.send("fits", server.localAddress());
                assertEquals("fits", c.receiveText(5000), "the cut one was dropped, the next echoed");
            }
        }
    }

    @Test
    void unixPathIsRefused() throws Exception {
        Path dir = Files.createTempDirectory("abyss-nio");
        try {
            // build() sees it (AUTO landing on NIO would meet the transport's IOException at start)
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServerConfig.builder()
                    .transport(TransportKind.NIO).handler(new Echo()).bindUnix(dir.resolve("s.sock").toString()).build());
            assertTrue(e.getMessage().contains("AF_UNIX"), e.getMessage());
        } finally {
            Files.deleteIfExists(dir.resolve("s.sock"));
            Files.delete(dir);
        }
    }

    @Test
    void stopFreesThePort() throws Exception {
        Server server = Abyss.start(nio("127.0.0.1").numAcceptors(2).build());
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        server.close();
        try (Server again = Abyss.start(nio("127.0.0.1").port(port).build()); UdpPeer c = new UdpPeer("127.0.0.1")) {
            c.send("again", again.localAddress());
            assertEquals("again", c.receiveText(5000));
        }
    }

    /**
     * In a JVM that denies native access, AUTO falls back to NIO and the server still echoes: nothing
     * on the NIO path links a native function.
     */
    @Test
    void worksWithoutNativeAccess() throws Exception {
        Skip.unless(Runtime.version().feature() >= 24, "--illegal-native-access needs JDK 24");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--illegal-native-access=deny", "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), NioWithoutNativeAccess.class.getName())
                .redirectErrorStream(true).start();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(output);
            } catch (IOException ignored) {
                // the process ended
            }
        });
        boolean exited = p.waitFor(30, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        reader.join(5000);
        String out = output.toString(StandardCharsets.UTF_8);
        assertTrue(exited, "the child JVM did not finish: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains(NioWithoutNativeAccess.OK), out);
    }
}
