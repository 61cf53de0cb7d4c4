package dev.abyss.nativetests;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Await;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;

/**
 * Child JVM of {@link GsoPathMtuTest}, run in a network namespace whose loopback has a 1,400-byte
 * MTU. An Abyss server (the transport named by the first argument, GSO on) answers "big" with
 * 4 × 1,400-byte segments (above the MTU once the headers are added: the kernel refuses the GSO
 * send with EMSGSIZE, where it fragments a plain datagram) and "small" with 4 × 1,000. A client
 * counts what arrives. Prints one RESULT line and exits 0; exits 3 when the transport is
 * unavailable here.
 */
public final class GsoPathMtuChild {
    private GsoPathMtuChild() {
    }

    public static void main(String[] args) throws Exception {
        TransportKind kind = TransportKind.valueOf(args[0]);
        String why = Transports.unavailableReason(kind);
        if (why != null) {
            System.out.println("UNAVAILABLE " + why);
            System.exit(3);
        }
        MemorySegment big = Arena.global().allocate(4 * 1_400);
        MemorySegment small = Arena.global().allocate(4 * 1_000);
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        StringBuilder result = new StringBuilder("RESULT kind=" + kind);
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).bindAddress(loopback).numAcceptors(1).gso(true)
                .shutdownTimeout(Duration.ZERO).datagramHandler((peer, data) -> {
                    if (data.byteSize() == 3) {
                        peer.sendSegments(big, 0, big.byteSize(), 1_400);
                    } else {
                        peer.sendSegments(small, 0, small.byteSize(), 1_000);
                    }
                }).build());
             DatagramChannel client = DatagramChannel.open().bind(new InetSocketAddress(loopback, 0))) {
            client.socket().setSoTimeout(2_000);
            for (String request : new String[]{"big", "small", "big", "small"}) {
                client.send(ByteBuffer.wrap(request.getBytes()), server.localAddress());
                int got = 0;
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[65_536], 65_536);
                try {
                    while (got < 4) {
                        client.socket().receive(p);
                        got++;
                    }
                } catch (SocketTimeoutException e) {
                    // counted: fewer than 4
                }
                // keys repeat for the second round: the parent reads the last of each
                result.append(' ').append(request).append('=').append(got);
                result.append(' ').append(request).append("Size=").append(got == 0 ? 0 : p.getLength());
            }
            // the counters follow the completions
            ServerStats st = Await.await("all 16 datagrams sent or counted as failed", server::stats,
                    s -> s.datagramsOut() + s.sendErrors() >= 16);
            result.append(" datagramsOut=").append(st.datagramsOut()).append(" sendErrors=").append(st.sendErrors())
                    .append(" gsoSends=").append(st.gsoSends()).append(" gsoSegments=").append(st.gsoSegments());
        }
        System.out.println(result);
        System.out.flush();
        System.exit(0);
    }
}
