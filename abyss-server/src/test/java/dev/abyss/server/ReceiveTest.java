package dev.abyss.server;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link Session#receive}, the reference's {@code recv/3}: a blocking read inside a callback, on every transport. */
class ReceiveTest extends TransportSuite {

    private static String text(MemorySegment data) {
        return new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** Asks with "ask <millis>": the handler waits that long for the next datagram and answers what it got. */
    private static final class Asker implements Handler<Object> {
        final List<String> handled = new CopyOnWriteArrayList<>();

        @Override
        public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
            String request = text(data);
            handled.add(request);
            String answer;
            try {
                if (request.startsWith("ask ")) {
                    MemorySegment got = s.receive(Duration.ofMillis(Long.parseLong(request.substring(4))));
                    answer = got == null ? "nothing" : "got " + text(got) + (got.isReadOnly() ? " read-only" : " writable");
                } else if (request.equals("zero")) {
                    s.receive(Duration.ZERO);
                    answer = "accepted a zero timeout";
                } else {
                    answer = "echo " + request;
                }
            } catch (IllegalStateException | IllegalArgumentException e) {
                answer = e.getClass().getSimpleName() + ": " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                answer = "interrupted";
            }
            s.send(answer.getBytes(StandardCharsets.UTF_8));
            return HandlerResult.continueWith(state);
        }
    }

    private Server start(DispatchMode mode, Handler<?> handler) throws Exception {
        return start(builder().handler(handler).bindLoopback().port(0).dispatchMode(mode).shutdownTimeout(Duration.ofMillis(200)).build());
    }

    @Test
    void aVirtualThreadSessionReadsTheNextDatagramInsideItsCallback() throws Exception {
        Asker asker = new Asker();
        try (Server server = start(DispatchMode.VIRTUAL_THREADS, asker);
             DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            peer.setSoTimeout(10_000);
            peer.connect(server.localAddress());
            send(peer, "ask 10000");
            send(peer, "the answer");
            assertEquals("got the answer read-only", receive(peer));
            send(peer, "after");
            assertEquals("echo after", receive(peer), "later datagrams go to handleData again");
            assertEquals(List.of("ask 10000", "after"), asker.handled, "the datagram read by receive bypassed handleData");
            send(peer, "ask 50");
            assertEquals("nothing", receive(peer), "null when nothing comes in time");
            send(peer, "zero");
            assertEquals("IllegalArgumentException: timeout must be positive, was PT0S", receive(peer));
            Session s = server.session(peer.getLocalSocketAddress());
            assertEquals(5, s.receivedPackets(), "a datagram read by receive is counted as received");
        }
    }

    @Test
    void inlineDispatchRefusesToBlockItsAcceptor() throws Exception {
        try (Server server = start(DispatchMode.INLINE, new Asker());
             DatagramSocket peer = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            peer.setSoTimeout(10_000);
            peer.connect(server.localAddress());
            send(peer, "ask 1000");
            assertEquals("IllegalStateException: Session.receive blocks: it needs DispatchMode.VIRTUAL_THREADS; this server "
                    + "dispatches INLINE, on the acceptor thread, which must not block", receive(peer));
        }
    }

    private static void send(DatagramSocket peer, String text) throws Exception {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        peer.send(new DatagramPacket(b, b.length));
    }

    private static String receive(DatagramSocket peer) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        peer.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
    }
}
