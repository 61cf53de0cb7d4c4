package dev.abyss.server.examples;

import dev.abyss.server.Abyss;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.MulticastGroup;
import dev.abyss.server.Peer;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.UdpOption;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Listens on a multicast group: prints what arrives (the group it was sent to, the sender, its TTL,
 * the first bytes as text) and answers each sender by unicast with {@code ack N}, from an address of
 * the receiving interface. A feed handler, a discovery responder (mDNS, SSDP) or a telemetry
 * collector start like this.
 *
 * <p>Printing is bounded: at most {@value #LINES_PER_SECOND} lines a second, the rest counted and
 * said once the second is over, so a flood of datagrams cannot flood the output.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp ... dev.abyss.server.examples.MulticastListener 239.1.2.3@eth0 5000
 * </pre>
 * One acceptor: Linux gives every socket of a SO_REUSEPORT group its own copy of a multicast
 * datagram, so several acceptors would each see (and answer) every datagram.
 */
public final class MulticastListener implements DatagramHandler {
    /** Most lines printed per second. */
    public static final int LINES_PER_SECOND = 100;
    private static final int PREVIEW = 64;

    private final PrintStream out;
    private final AtomicLong received = new AtomicLong();
    private long second;
    private int lines;
    private long suppressed;

    /**
     * A listener that describes each datagram on {@code out}.
     *
     * @param out where each datagram is described
     */
    public MulticastListener(PrintStream out) {
        this.out = out;
    }

    /** {@return the datagrams received so far} */
    public long received() {
        return received.get();
    }

    @Override
    public void handle(Peer peer, MemorySegment data) {
        long n = received.incrementAndGet();
        DatagramInfo info = peer.datagram();
        if (allowLine()) {
            int length = (int) Math.min(PREVIEW, data.byteSize());
            String text = new String(data.asSlice(0, length).toArray(JAVA_BYTE), StandardCharsets.UTF_8)
                    .replaceAll("\\p{Cntrl}", "?");
            out.println("#" + n + " to " + info.destination() + " from " + peer.remoteAddress() + " ttl " + info.ttl()
                    + ": " + data.byteSize() + " bytes '" + text + "'");
        }
        peer.send(("ack " + n).getBytes(StandardCharsets.US_ASCII));
    }

    /** The rate limit of the output (one acceptor calls this: no locking needed beyond its thread). */
    private boolean allowLine() {
        long now = System.nanoTime() / 1_000_000_000L;
        if (now != second) {
            if (suppressed > 0) {
                out.println("(" + suppressed + " more datagrams not printed)");
            }
            second = now;
            lines = 0;
            suppressed = 0;
        }
        if (lines < LINES_PER_SECOND) {
            lines++;
            return true;
        }
        suppressed++;
        return false;
    }

    /**
     * The config of a listener on {@code group} at {@code port}: bound to the wildcard address of the
     * group's family on that port (a socket bound to a unicast address receives no multicast), one
     * acceptor, with the TTL of each datagram read.
     *
     * @param group    the membership (GROUP[@INTERFACE][/SOURCE])
     * @param port     the group's port
     * @param listener the handler
     * @return the config
     * @throws java.net.UnknownHostException never: the wildcard addresses are literals
     */
    public static ServerConfig config(MulticastGroup group, int port, MulticastListener listener) throws java.net.UnknownHostException {
        return ServerConfig.builder()
                .bindAddress(InetAddress.getByName(group.group() instanceof java.net.Inet4Address ? "0.0.0.0" : "::"))
                .port(port)
                .numAcceptors(1)
                .joinGroup(group)
                .socketOption(UdpOption.RECEIVE_TTL, true)
                .datagramHandler(listener)
                .build();
    }

    /**
     * Joins {@code args[0]} (GROUP[@INTERFACE][/SOURCE]) on port {@code args[1]} and prints what
     * arrives until the process is stopped.
     *
     * @param args the group and the port
     * @throws Exception when the server cannot start
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: MulticastListener GROUP[@INTERFACE][/SOURCE] PORT   e.g. 239.1.2.3@eth0 5000");
            System.exit(2);
        }
        MulticastListener listener = new MulticastListener(System.out);
        Server server = Abyss.start(config(MulticastGroup.parse(args[0]), Integer.parseInt(args[1]), listener));
        System.out.println("listening on " + args[0] + " port " + ((InetSocketAddress) server.localAddress()).getPort()
                + " (" + server.transport() + "); Ctrl-C stops");
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        stopped.await();
    }
}
