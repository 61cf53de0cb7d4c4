package dev.abyss.server.transport.nio;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import dev.abyss.server.transport.Transports;

import java.net.InetAddress;
import java.time.Duration;

/**
 * Run by {@link NioServerTest#worksWithoutNativeAccess()} in a JVM with
 * {@code --illegal-native-access=deny}: starts the server with AUTO, which must fall back to NIO,
 * and checks one echo. Prints {@link #OK} and exits 0 when all went well.
 */
public final class NioWithoutNativeAccess {
    static final String OK = "NIO-WITHOUT-NATIVE-ACCESS-OK";

    private NioWithoutNativeAccess() {
    }

    public static void main(String[] args) throws Exception {
        String epoll = Transports.unavailableReason(TransportKind.EPOLL);
        if (epoll == null) {
            throw new AssertionError("native access works here: the test proves nothing");
        }
        System.out.println("epoll unavailable: " + epoll);
        try (Server server = Abyss.start(ServerConfig.builder().handler(new Echo()).bindAddress(InetAddress.getLoopbackAddress())
                .numAcceptors(2).shutdownTimeout(Duration.ofMillis(100)).build());
             UdpPeer c = new UdpPeer("127.0.0.1")) {
            if (server.transport() != TransportKind.NIO) {
                throw new AssertionError("AUTO chose " + server.transport());
            }
            c.send("no native", server.localAddress());
            String echo = c.receiveText(10_000);
            if (!"no native".equals(echo)) {
                throw new AssertionError("echo: " + echo);
            }
        }
        System.out.println(OK);
    }
}
