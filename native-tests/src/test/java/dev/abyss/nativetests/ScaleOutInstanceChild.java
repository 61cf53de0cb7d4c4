package dev.abyss.nativetests;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Child JVM of {@link ScaleOutTest}: one Abyss instance behind the balancer, in a namespace of its
 * own. Arguments: its name (B1, B2, B3) and port. Bound to the wildcard address, sessions on (a
 * {@code segmentHandler}, so the stats count each new peer in sessionsOpened), it answers each
 * datagram with {@code NAME PEER PAYLOAD}: its own name and the peer's address and port as it sees
 * them (the balancer only rewrites the destination: the real client's). Prints {@code READY}, then
 * for each {@code STATS} line on stdin a {@code RESULT} line of its stats; stops at the end of stdin.
 */
public final class ScaleOutInstanceChild {
    private ScaleOutInstanceChild() {
    }

    public static void main(String[] args) throws Exception {
        String name = args[0];
        int port = Integer.parseInt(args[1]);
        try (Server server = Abyss.start(ServerConfig.builder().bindAddress(InetAddress.getByName("0.0.0.0")).port(port)
                .numAcceptors(1).readTimeout(Duration.ofMinutes(10)).shutdownTimeout(Duration.ZERO)
                .segmentHandler((session, data) -> {
                    InetSocketAddress peer = (InetSocketAddress) session.remoteAddress();
                    String reply = name + " " + peer.getAddress().getHostAddress() + ":" + peer.getPort() + " "
                            + new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                    session.send(reply.getBytes(StandardCharsets.UTF_8));
                }).build())) {
            System.out.println("READY " + name + " " + server.transport());
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.equals("STATS")) {
                    ServerStats st = server.stats();
                    System.out.println("RESULT name=" + name + " datagramsIn=" + st.datagramsIn() + " datagramsOut=" + st.datagramsOut()
                            + " sessionsOpened=" + st.sessionsOpened() + " sessionsClosed=" + st.sessionsClosed()
                            + " sendErrors=" + st.sendErrors() + " handlerErrors=" + st.handlerErrors());
                    System.out.flush();
                }
            }
        }
        System.exit(0);
    }
}
