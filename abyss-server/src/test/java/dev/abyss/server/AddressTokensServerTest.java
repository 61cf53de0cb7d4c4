package dev.abyss.server;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link AddressTokens} as handlers use it, through real sockets on every transport: the
 * {@code Peer} a {@link DatagramHandler} gets (the server's reused flyweight) and a {@link Session}
 * are read without an address object, and give the same answers as the address itself.
 */
class AddressTokensServerTest extends TransportSuite {
    private static final byte OK = 1;
    private static final byte NEW = 2;

    /**
     * A DNS-cookie-like exchange: a request is an 8-byte client cookie, optionally followed by a
     * 16-byte server cookie; a valid one is answered {@code OK}, anything else {@code NEW} and a
     * fresh server cookie.
     */
    private static void answer(AddressTokens tokens, Peer peer, MemorySegment data) {
        if (data.byteSize() == 24 && tokens.verify(peer, data, 8, 16, data, 0, 8)) {
            peer.send(new byte[]{OK});
            return;
        }
        if (data.byteSize() < 8) {
            return;
        }
        MemorySegment reply = peer.scratch();
        reply.set(JAVA_BYTE, 0, NEW);
        tokens.issue(peer, data, 0, 8, reply, 1);
        peer.send(reply, 0, 17);
    }

    private static byte[] exchange(DatagramSocket c, InetSocketAddress to, byte[] request) throws Exception {
        c.send(new DatagramPacket(request, request.length, to));
        DatagramPacket p = new DatagramPacket(new byte[64], 64);
        c.receive(p);
        return Arrays.copyOf(p.getData(), p.getLength());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void aStatelessServerIssuesAndVerifiesCookies() throws Exception {
        AddressTokens tokens = AddressTokens.builder().build();
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        try (Server server = start(builder().bindAddress(loopback).datagramHandler((peer, data) -> answer(tokens, peer, data))
                .shutdownTimeout(Duration.ZERO).build());
             DatagramSocket a = new DatagramSocket(new InetSocketAddress(loopback, 0));
             DatagramSocket b = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
            a.setSoTimeout(5000);
            b.setSoTimeout(5000);
            InetSocketAddress to = (InetSocketAddress) server.localAddress();
            byte[] client = {1, 2, 3, 4, 5, 6, 7, 8};
            byte[] first = exchange(a, to, client);
            assertEquals(NEW, first[0]);
            byte[] cookie = Arrays.copyOfRange(first, 1, 17);
            assertArrayEquals(tokens.issue((InetSocketAddress) a.getLocalSocketAddress(), client), cookie,
                    "the Peer's address is read as the address itself");
            assertArrayEquals(new byte[]{OK}, exchange(a, to, concat(client, cookie)), "the cookie comes back: valid");
            assertArrayEquals(new byte[]{OK}, exchange(b, to, concat(client, cookie)), "another port of the same address: valid");
            byte[] flipped = cookie.clone();
            flipped[15] ^= 1;
            assertEquals(NEW, exchange(a, to, concat(client, flipped))[0], "a flipped bit: refused, a new cookie");
            byte[] otherClient = {8, 7, 6, 5, 4, 3, 2, 1};
            assertEquals(NEW, exchange(a, to, concat(otherClient, cookie))[0], "another client cookie: refused");
            assertEquals(NEW, exchange(a, to, Arrays.copyOf(concat(client, cookie), 23))[0], "a short one: refused");
        }
    }

    /** The same exchange with sessions and the port bound: a session's token is refused from another port. */
    @Test
    void sessionsVerifyTokensBoundToTheirPort() throws Exception {
        AddressTokens tokens = AddressTokens.builder().bindPort(true).build();
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        Handler<Object> handler = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                answer(tokens, session, data);
                return HandlerResult.continueWith(state);
            }
        };
        try (Server server = start(builder().bindAddress(loopback).handler(handler).shutdownTimeout(Duration.ZERO).build());
             DatagramSocket a = new DatagramSocket(new InetSocketAddress(loopback, 0));
             DatagramSocket b = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
            a.setSoTimeout(5000);
            b.setSoTimeout(5000);
            InetSocketAddress to = (InetSocketAddress) server.localAddress();
            byte[] client = {9, 9, 9, 9, 9, 9, 9, 9};
            byte[] cookie = Arrays.copyOfRange(exchange(a, to, client), 1, 17);
            assertArrayEquals(new byte[]{OK}, exchange(a, to, concat(client, cookie)), "from its own port: valid");
            assertEquals(NEW, exchange(b, to, concat(client, cookie))[0], "from another port: refused");
        }
    }
}
