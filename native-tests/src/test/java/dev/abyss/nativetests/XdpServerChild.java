package dev.abyss.nativetests;

import dev.abyss.server.Abyss;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.Peer;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * An Abyss server on transport XDP in the server namespace of {@link XdpTransportTest}: answers
 * every datagram with its payload followed by {@code " @"} and the acceptor thread's name (so a
 * client sees which queue's acceptor served it). Prints {@code READY pid=.. detail=..}; reads
 * commands from stdin: {@code STATS} prints {@code STATS in=.. out=.. receiveErrors=.. kernelDrops=..
 * sendErrors=.. droppedSuspended=.. sessionsOpened=.. xdpFramesRefused=.. xdpSocketSends=.. xdpHopsContested=..}; {@code ALLOC} prints {@code ALLOC bytes=.. in=..} (what the acceptor threads
 * allocated so far, datagrams in); {@code SEND address port text} sends {@code text} from another thread
 * (Server.send). Exits when stdin closes.
 *
 * {@code SUSPEND} / {@code RESUME} call the server's and answer {@code SUSPENDED} / {@code RESUMED}.
 *
 * <p>Arguments: interface, bind address, port, dispatch ({@code inline} or {@code virtual}), and
 * optionally {@code stateless} (a DatagramHandler instead of a session Handler) or {@code segment} (a
 * SegmentHandler).
 */
public final class XdpServerChild {
    private XdpServerChild() {
    }

    /** Echo plus the acceptor's name, written into a buffer of the acceptor's own: nothing allocated per datagram. */
    static final class Tagged implements Handler<Object> {
        private static final ThreadLocal<MemorySegment> BUFFER = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(4096));
        private static final ThreadLocal<byte[]> TAG = ThreadLocal.withInitial(
                () -> (" @" + Thread.currentThread().getName()).getBytes(StandardCharsets.US_ASCII));

        @Override
        public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
            MemorySegment buffer = BUFFER.get();
            byte[] tag = TAG.get();
            long n = Math.min(data.byteSize(), buffer.byteSize() - tag.length);
            MemorySegment.copy(data, 0, buffer, 0, n);
            MemorySegment.copy(tag, 0, buffer, JAVA_BYTE, n, tag.length);
            session.send(buffer, 0, n + tag.length);
            return HandlerResult.continueWith(state);
        }
    }

    /** The same reply from a {@link DatagramHandler}: no session at all. */
    static final class TaggedStateless implements DatagramHandler {
        @Override
        public void handle(Peer peer, MemorySegment data) {
            MemorySegment buffer = Tagged.BUFFER.get();
            byte[] tag = Tagged.TAG.get();
            long n = Math.min(data.byteSize(), buffer.byteSize() - tag.length);
            MemorySegment.copy(data, 0, buffer, 0, n);
            MemorySegment.copy(tag, 0, buffer, JAVA_BYTE, n, tag.length);
            peer.send(buffer, 0, n + tag.length);
        }
    }

    /** The same reply from a {@link dev.abyss.server.SegmentHandler}: a session, no state of the handler's. */
    static void taggedSegment(Session session, MemorySegment data) {
        MemorySegment buffer = Tagged.BUFFER.get();
        byte[] tag = Tagged.TAG.get();
        long n = Math.min(data.byteSize(), buffer.byteSize() - tag.length);
        MemorySegment.copy(data, 0, buffer, 0, n);
        MemorySegment.copy(tag, 0, buffer, JAVA_BYTE, n, tag.length);
        session.send(buffer, 0, n + tag.length);
    }

    /** Bytes the acceptor threads have allocated so far. */
    static long acceptorAllocations() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("abyss-acceptor-")) {
                sum += threads.getThreadAllocatedBytes(t.threadId());
            }
        }
        return sum;
    }

    public static void main(String[] args) throws Exception {
        ServerConfig.Builder b = ServerConfig.builder().transport(TransportKind.XDP)
                .xdpInterface(args[0]).bindAddress(InetAddress.getByName(args[1])).port(Integer.parseInt(args[2]))
                .xdpUmemFrames(1024);
        if (args.length > 4 && "stateless".equals(args[4])) {
            b.datagramHandler(new TaggedStateless());
        } else if (args.length > 4 && "segment".equals(args[4])) {
            b.segmentHandler(XdpServerChild::taggedSegment);
        } else {
            b.handler(new Tagged());
        }
        if ("virtual".equals(args[3])) {
            b.dispatchMode(dev.abyss.server.DispatchMode.VIRTUAL_THREADS);
        }
        try (Server server = Abyss.start(b.build())) {
            System.out.println("READY pid=" + ProcessHandle.current().pid() + " detail=" + server.transportDetail().replace(' ', '_'));
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] w = line.trim().split(" ");
                if (w[0].equals("STATS")) {
                    ServerStats s = server.stats();
                    System.out.println("STATS in=" + s.datagramsIn() + " out=" + s.datagramsOut() + " receiveErrors="
                            + s.receiveErrors() + " kernelDrops=" + s.kernelDrops() + " sendErrors=" + s.sendErrors()
                            + " droppedSuspended=" + s.droppedSuspended() + " sessionsOpened=" + s.sessionsOpened()
                            + " xdpFramesRefused=" + s.xdpFramesRefused() + " xdpSocketSends=" + s.xdpSocketSends()
                            + " xdpHopsContested=" + s.xdpHopsContested());
                } else if (w[0].equals("SUSPEND")) {
                    server.suspend();
                    System.out.println("SUSPENDED");
                } else if (w[0].equals("RESUME")) {
                    server.resume();
                    System.out.println("RESUMED");
                } else if (w[0].equals("ALLOC")) {
                    System.out.println("ALLOC bytes=" + acceptorAllocations() + " in=" + server.stats().datagramsIn());
                } else if (w[0].equals("SEND")) {
                    Thread t = new Thread(() -> System.out.println("SENT " + server.send(
                            new InetSocketAddress(w[1], Integer.parseInt(w[2])),
                            MemorySegment.ofArray(w[3].getBytes(StandardCharsets.US_ASCII)))));
                    t.start();
                    t.join();
                }
            }
        }
    }
}
