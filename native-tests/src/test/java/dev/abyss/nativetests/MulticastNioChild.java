package dev.abyss.nativetests;

import dev.abyss.server.Abyss;
import dev.abyss.server.MulticastGroup;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.UdpOption;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A NIO server in the namespace it is started in ({@code ip netns exec}: NIO cannot open sockets in
 * another one), joined to {@code args[0]} (GROUP@INTERFACE) through the JDK's MembershipKey,
 * answering "ok:TEXT". Prints {@code PORT n}; a {@code leave} line on stdin leaves the group and
 * prints {@code LEFT}; EOF stops it.
 */
public final class MulticastNioChild {
    private MulticastNioChild() {
    }

    public static void main(String[] args) throws Exception {
        MulticastGroup group = MulticastGroup.parse(args[0]);
        try (Server server = Abyss.start(ServerConfig.builder().transport(TransportKind.NIO)
                .bindAddress(InetAddress.getByName("0.0.0.0")).port(0).numAcceptors(1).joinGroup(group)
                .socketOption(UdpOption.MULTICAST_TTL, 3)
                .datagramHandler((peer, data) -> peer.send(("ok:" + new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8)))
                .build())) {
            System.out.println("PORT " + ((InetSocketAddress) server.localAddress()).getPort() + " ttl " + server.option(UdpOption.MULTICAST_TTL));
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.equals("leave")) {
                    server.leaveGroup(group);
                    System.out.println("LEFT " + server.groups());
                }
            }
        }
    }
}
