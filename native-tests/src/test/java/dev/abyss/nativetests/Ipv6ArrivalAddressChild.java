package dev.abyss.nativetests;

import dev.abyss.server.Abyss;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Child JVM of {@link Ipv6ArrivalAddressTest}, run inside a fresh network namespace whose loopback
 * has {@code ::1} and {@code fd00::5}. Argument: the transport. Starts an Abyss server on
 * {@code [::]:0} whose sessions answer {@code "<request> @ <session.localAddress() host>"}, and talks
 * to it with connected clients (a connected socket accepts datagrams from its connected address
 * only):
 * <ul>
 *   <li>from {@code ::1} to {@code fd00::5} (the kernel's own choice of source would be {@code ::1}),</li>
 *   <li>the same through a cross-thread {@code session.send} (the acceptor's queue),</li>
 *   <li>from {@code fd00::5} to {@code ::1} (the kernel's own choice would be {@code fd00::5}),</li>
 *   <li>from {@code ::1} to {@code ::1}.</li>
 * </ul>
 * Then a control: a plain JDK {@code [::]} echo socket, with no IPV6_PKTINFO, answers the first
 * client's request from {@code ::1}, so the first case does tell the two behaviours apart.
 *
 * <p>Exit 0 with one {@code RESULT ...} line on success; exit 3 with {@code UNAVAILABLE reason} when
 * the transport does not work in the namespace; anything else (an exception, exit 1) is a failure.
 */
public final class Ipv6ArrivalAddressChild {
    static final String EXTRA = "fd00::5";
    private static final int RECEIVE_TIMEOUT_MS = 5000;

    private Ipv6ArrivalAddressChild() {
    }

    /** A reply and the address it came from. */
    private record Reply(String text, InetAddress source) {
    }

    public static void main(String[] args) throws Exception {
        TransportKind kind = TransportKind.valueOf(args[0]);
        String why = Transports.unavailableReason(kind);
        if (why != null) {
            System.out.println("UNAVAILABLE " + kind + " in the namespace: " + why);
            System.exit(3);
        }
        InetAddress extra = InetAddress.getByName(EXTRA);
        InetAddress loop6 = InetAddress.getByName("::1");

        Handler<Object> answer = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                String request = new String(data.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                InetAddress local = ((InetSocketAddress) session.localAddress()).getAddress();
                byte[] reply = (request + " @ " + local.getHostAddress()).getBytes(StandardCharsets.UTF_8);
                if (request.startsWith("later")) { // from another thread: through the acceptor's send queue
                    Thread.ofVirtual().start(() -> session.send(reply));
                } else {
                    session.send(reply);
                }
                return HandlerResult.continueWith(state);
            }
        };
        List<String> result = new ArrayList<>();
        result.add("kind=" + kind);
        try (Server server = Abyss.start(ServerConfig.builder().handler(answer).transport(kind)
                .bindAddress(InetAddress.getByName("::")).shutdownTimeout(Duration.ofMillis(100)).build())) {
            if (server.transport() != kind) {
                throw new AssertionError("asked for " + kind + ", got " + server.transport());
            }
            int port = ((InetSocketAddress) server.localAddress()).getPort();

            Reply toExtra = exchange(loop6, new InetSocketAddress(extra, port), "hello");
            check(toExtra, "hello", extra, "::1 -> [fd00::5]");
            result.add("toExtra=" + toExtra.source().getHostAddress());

            Reply later = exchange(loop6, new InetSocketAddress(extra, port), "later");
            check(later, "later", extra, "::1 -> [fd00::5], cross-thread send");
            result.add("toExtraLater=" + later.source().getHostAddress());

            Reply fromExtra = exchange(extra, new InetSocketAddress(loop6, port), "back");
            check(fromExtra, "back", loop6, "fd00::5 -> [::1]");
            result.add("fromExtraToLoopback=" + fromExtra.source().getHostAddress());

            Reply plain = exchange(loop6, new InetSocketAddress(loop6, port), "plain");
            check(plain, "plain", loop6, "::1 -> [::1]");
            result.add("toLoopback=" + plain.source().getHostAddress());
        }

        // control: without IPV6_PKTINFO the kernel answers ::1's request to fd00::5 from ::1
        try (DatagramChannel echo = DatagramChannel.open(StandardProtocolFamily.INET6);
             DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET6)) {
            echo.bind(new InetSocketAddress(InetAddress.getByName("::"), 0));
            int port = ((InetSocketAddress) echo.getLocalAddress()).getPort();
            Thread echoer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    ByteBuffer b = ByteBuffer.allocate(256);
                    SocketAddress from = echo.receive(b);
                    echo.send(b.flip(), from);
                } catch (Exception e) {
                    System.out.println("control echo failed: " + e);
                }
            });
            client.bind(new InetSocketAddress(loop6, 0)); // unconnected: sees the reply whatever its source
            client.send(ByteBuffer.wrap("control".getBytes(StandardCharsets.UTF_8)), new InetSocketAddress(extra, port));
            client.socket().setSoTimeout(RECEIVE_TIMEOUT_MS);
            DatagramPacket p = new DatagramPacket(new byte[256], 256);
            client.socket().receive(p);
            echoer.join(RECEIVE_TIMEOUT_MS);
            result.add("controlSource=" + p.getAddress().getHostAddress());
        }
        System.out.println("RESULT " + String.join(" ", result));
        System.out.flush();
        System.exit(0);
    }

    /**
     * Sends {@code text} from a socket bound to {@code from} and connected to {@code to}; returns the
     * reply (a connected socket drops replies from any other address: no reply within the timeout
     * fails).
     */
    private static Reply exchange(InetAddress from, InetSocketAddress to, String text) throws Exception {
        try (DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET6)) {
            c.bind(new InetSocketAddress(from, 0));
            c.connect(to);
            c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            c.socket().setSoTimeout(RECEIVE_TIMEOUT_MS);
            DatagramPacket p = new DatagramPacket(new byte[256], 256);
            try {
                c.socket().receive(p);
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no reply within " + RECEIVE_TIMEOUT_MS + " ms on a socket bound to ["
                        + from.getHostAddress() + "] and connected to " + to + " (a reply from another source is filtered out)", e);
            }
            return new Reply(new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8), p.getAddress());
        }
    }

    private static void check(Reply reply, String request, InetAddress expected, String what) throws Exception {
        if (!reply.source().equals(expected)) {
            throw new AssertionError(what + ": reply from " + reply.source() + ", expected " + expected);
        }
        String prefix = request + " @ ";
        if (!reply.text().startsWith(prefix)) {
            throw new AssertionError(what + ": unexpected reply '" + reply.text() + "'");
        }
        InetAddress local = InetAddress.getByName(reply.text().substring(prefix.length())); // a literal: no lookup
        if (!local.equals(expected)) {
            throw new AssertionError(what + ": session.localAddress() was " + local + ", expected " + expected);
        }
    }
}
