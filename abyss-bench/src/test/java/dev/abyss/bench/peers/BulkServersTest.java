package dev.abyss.bench.peers;

import dev.abyss.bench.load.Bulk;
import dev.abyss.bench.load.BulkOptions;
import dev.abyss.bench.load.BulkResult;
import dev.abyss.bench.load.LoadGenerator;
import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.TransportKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bulk scenario's servers answer a request with exactly N datagrams of 1,200 bytes (the
 * request's 16 bytes, the index, the body pattern): seen by a plain JDK socket one datagram at a
 * time, and by the load generator with and without UDP_GRO (which splits coalesced receives at the
 * kernel's segment size and checks every piece). Abyss with gso on makes UDP_SEGMENT sends, with
 * gso off none.
 */
@Timeout(120)
class BulkServersTest {

    private static Server abyss(TransportKind transport, boolean gso) throws Exception {
        return Abyss.start(ServerConfig.builder().bindLoopback().port(0).numAcceptors(1).transport(transport).gso(gso)
                .shutdownTimeout(Duration.ZERO).datagramHandler(new BulkServers.AbyssBulk()).build());
    }

    @ParameterizedTest(name = "{0} gso={1}")
    @CsvSource({"EPOLL, true", "EPOLL, false", "IO_URING, true", "IO_URING, false"})
    void abyssAnswersEachRequestWithExactlyNDatagramsOf1200Bytes(TransportKind transport, boolean gso) throws Exception {
        try (Server server = abyss(transport, gso)) {
            InetSocketAddress at = (InetSocketAddress) server.localAddress();
            for (int n : new int[]{1, 16, 53, 54, 55, 64}) {
                assertExactReplies(at, n, 3);
            }
            for (boolean gro : new boolean[]{false, true}) {
                for (int n : new int[]{16, 64}) {
                    BulkResult r = LoadGenerator.runBulk(new BulkOptions(at, 4, 2, n, gro, Duration.ofSeconds(30), 300, false));
                    assertClean(r, n, 300, "gso=" + gso + " gro=" + gro);
                }
            }
            // the client can have every reply before the acceptor has counted its sends
            ServerStats st = await("the server's sends counted", server::stats, now -> now.datagramsOut() > 0);
            if (gso) {
                assertTrue(st.gsoSends() > 0, "GSO on: UDP_SEGMENT sends: " + st);
                assertTrue(st.gsoSegments() >= 2 * st.gsoSends(), "at least 2 segments per GSO send: " + st);
            } else {
                assertEquals(0, st.gsoSends(), "GSO off: no UDP_SEGMENT send: " + st);
                assertEquals(0, st.gsoSegments(), st.toString());
            }
            assertEquals(0, st.sendErrors() + st.sendQueueFull() + st.sendBatchFull() + st.handlerErrors(), st.toString());
        }
    }

    @ParameterizedTest(name = "netty gso={0}")
    @CsvSource({"true", "false"})
    void nettyAnswersEachRequestWithExactlyNDatagramsOf1200Bytes(boolean gso) throws Exception {
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", freePort());
        try (AutoCloseable server = BulkServers.netty(at, 1, gso)) {
            for (int n : new int[]{1, 16, 54, 55, 64}) {
                assertExactReplies(at, n, 2);
            }
            for (boolean gro : new boolean[]{false, true}) {
                BulkResult r = LoadGenerator.runBulk(new BulkOptions(at, 4, 2, 64, gro, Duration.ofSeconds(30), 200, false));
                assertClean(r, 64, 200, "netty gso=" + gso + " gro=" + gro);
            }
        }
    }

    @Test
    void requestsAskingForNothingOrTooMuchGetNoAnswer() throws Exception {
        try (Server server = abyss(TransportKind.EPOLL, true); DatagramChannel ch = DatagramChannel.open()) {
            ch.connect(server.localAddress());
            ch.socket().setSoTimeout(300);
            for (int n : new int[]{0, -1, Bulk.MAX_REPLIES + 1}) {
                ch.write(request(n, 7, n));
            }
            assertEquals(List.of(), receive(ch, 0, 300), "nothing answered");
        }
    }

    /** Sends {@code rounds} requests of {@code n} replies one at a time from a plain socket; each gets exactly n datagrams, in order. */
    private static void assertExactReplies(InetSocketAddress at, int n, int rounds) throws Exception {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 1 << 20);
            ch.connect(at);
            for (long seq = 0; seq < rounds; seq++) {
                ch.write(request(n, 3, seq));
                List<ByteBuffer> got = receive(ch, n, 100);
                assertEquals(n, got.size(), "datagrams answering one request of " + n + " (seq " + seq + ")");
                for (int i = 0; i < n; i++) {
                    ByteBuffer d = got.get(i);
                    assertEquals(Bulk.SEGMENT, d.remaining(), "datagram " + i + " of " + n + ": its length");
                    assertEquals(n, d.getInt(0), "datagram " + i + ": replies field");
                    assertEquals(3, d.getInt(4), "datagram " + i + ": peer field");
                    assertEquals(seq, d.getLong(8), "datagram " + i + ": sequence field");
                    assertEquals(i, d.getInt(16), "datagram " + i + " of " + n + ": its index (in order on loopback)");
                    for (int j = Bulk.HEADER; j < Bulk.SEGMENT; j++) {
                        if (d.get(j) != (byte) j) {
                            throw new AssertionError("datagram " + i + " of " + n + ": body byte " + j + " is " + d.get(j));
                        }
                    }
                }
            }
        }
    }

    private static ByteBuffer request(int n, int peer, long seq) {
        ByteBuffer b = ByteBuffer.allocate(Bulk.REQUEST).order(ByteOrder.nativeOrder());
        b.putInt(n).putInt(peer).putLong(seq).flip();
        return b;
    }

    /** The datagrams received: up to {@code expected} (2 s for each), then any more until none came for {@code quietMillis}. */
    private static List<ByteBuffer> receive(DatagramChannel ch, int expected, int quietMillis) throws Exception {
        List<ByteBuffer> got = new ArrayList<>();
        byte[] buf = new byte[65_536];
        java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
        for (int i = 0; i < 1000; i++) {
            ch.socket().setSoTimeout(got.size() < expected ? 2000 : quietMillis);
            try {
                ch.socket().receive(p);
            } catch (SocketTimeoutException quiet) {
                break;
            }
            got.add(ByteBuffer.wrap(java.util.Arrays.copyOf(buf, p.getLength())).order(ByteOrder.nativeOrder()));
            p.setLength(buf.length);
        }
        return got;
    }

    private static void assertClean(BulkResult r, int n, long count, String what) {
        assertTrue(r.completed() >= count, what + ": " + r.table());
        assertEquals(0, r.lost() + r.late() + r.corrupt(), what + ": nothing lost, late or corrupt: " + r.table());
        assertEquals(r.completed() * n, r.datagrams(), what + ": N datagrams per request: " + r.table());
        assertEquals(r.datagrams() * Bulk.SEGMENT, r.bytes(), what);
    }

    private static int freePort() throws Exception {
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            return s.getLocalPort();
        }
    }
}
