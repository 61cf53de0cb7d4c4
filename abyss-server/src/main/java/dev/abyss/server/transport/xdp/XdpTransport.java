package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.xdp.Xsk;
import dev.abyss.ffi.xdp.XskRing;
import dev.abyss.ffi.xdp.XskSocket;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import dev.abyss.server.transport.ViewCache;
import dev.abyss.server.transport.epoll.EpollTransport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The AF_XDP transport of one acceptor: one RX queue's {@link XskSocket} (UMEM and rings), and an
 * ordinary UDP socket bound to the same address and port ({@link EpollTransport}, which keeps the
 * port reserved, lets the kernel answer ICMP, receives what the XDP program passes to the kernel:
 * IPv4 fragments, IPv6 with extension headers, queues not served), and sends what cannot go as a
 * frame: to a peer whose next hop is not known, too large for a frame or the link's MTU, or when no
 * frame is free. Such sends are counted ({@code ServerStats.Counter.XDP_SOCKET_SENDS}).
 *
 * <p>Receive: each frame on the RX ring is checked by {@link FrameParser}; a datagram for us goes to
 * the engine as a read-only view of its UMEM frame with the {@link ReceivedFrame} facts, and the
 * frame goes back to the fill ring at once (the view is valid during the callback only); a frame
 * refused is reported as a receive error ({@code EBADMSG}) and counted as a drop
 * ({@code XDP_FRAMES_REFUSED}).
 *
 * <p>Next hops: each peer host's next hop (the frame's MACs and VLAN tag) is learned from its
 * frames into {@link NextHops}, which never lets a live hop be replaced by a forger on the link; a
 * reply sent while its request is handled goes back the way the request came unless the host is
 * contested.
 *
 * <p>Send: the datagram is written into a free frame with its headers ({@link FrameWriter}) and put
 * on the TX ring at the next flush, whose results are reported then. The socket's drop counters
 * ({@code XDP_STATISTICS}: RX ring full, no fill frame) are reported as kernel drops.
 */
public final class XdpTransport implements Transport {
    /** Why the behaviour suites (over loopback) skip XDP: it serves an interface, in a namespace pair. */
    public static final String SUITE_REASON = "transport XDP serves the network interface a server's config names "
            + "(xdpInterface), not loopback: its behaviour tests run in a network namespace pair (native-tests XdpTransportTest)";
    private static final int EBADMSG = 74;
    private static final int STATS_EVERY = 256;
    /** Turns between two reads of the bound socket while it has not said it is ready. */
    private static final int SOCKET_EVERY = 64;

    private final XdpPlan plan;
    private final int queue;
    private final EpollTransport socket;
    private final XskSocket xsk;
    private final MemorySegment umem;
    private final int frameSize;
    private final int batch;
    private final FrameParser parser;
    private final FrameWriter writer;
    private final ReceivedFrame frame = new ReceivedFrame();
    private final PeerKey local;
    private final ReceiveSink receiver;
    private final SendSink sender;
    private final ViewCache views;
    private final NextHops nextHops = new NextHops();
    /** While a frame is handled: the hop a reply to its source takes (null: none, or the socket's). */
    private NextHop replyHop;
    // sends written into frames, put on the TX ring at the next flush
    private final Object[] txTags;
    private final long[] txFrames;
    private final int[] txLengths;
    private final int[] txPayloadOffsets;
    private final int[] txPayloadLengths;
    private int txCount;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pollFds;
    /** The bound socket's entry of {@link #pollFds}, sliced once: a look at it alone allocates nothing. */
    private final MemorySegment socketPollFd;
    private final long[] stats = new long[6];
    private long reportedDrops;
    /** Datagrams sent through the bound socket, reported to the receive sink by the next turn (owner thread). */
    private long socketSends;
    /** A transmit kick that failed (not for lack of room), reported by the next turn; 0: none. */
    private int kickError;
    private int turns;
    private int socketTurns;
    /** The bound socket's epoll said it has work (a datagram, a wake-up). */
    private boolean socketReady = true;
    private volatile boolean receiving = true;
    private volatile boolean closed;

    XdpTransport(XdpPlan plan, int queue, EpollTransport socket, XskSocket xsk, TransportSettings settings, PeerKey local,
                 ReceiveSink receiver, SendSink sender) {
        this.plan = plan;
        this.queue = queue;
        this.socket = socket;
        this.xsk = xsk;
        this.umem = xsk.umem();
        this.frameSize = xsk.frameSize();
        this.batch = Math.max(1, Math.min(settings.receiveBatchSize(), xsk.rx.size()));
        this.local = local;
        this.parser = new FrameParser(local, settings.ipv6Only(), plan.ifindex, settings.receiveTrafficClass(),
                plan.options.verifyUdpChecksum(), settings.maxDatagramSize());
        // the TTL / hop limit the socket sends with (UdpOption.TTL sets both), as the socket path would
        Object ttl = settings.listen().options().get(dev.abyss.server.UdpOption.TTL);
        int hopLimit = ttl instanceof Integer t ? t : 64;
        this.writer = new FrameWriter(hopLimit, hopLimit, plan.options.ipv4UdpChecksum());
        this.receiver = receiver;
        this.sender = sender;
        this.views = new ViewCache((int) (umem.byteSize() / frameSize), 4);
        int tx = xsk.tx.size();
        this.txTags = new Object[tx];
        this.txFrames = new long[tx];
        this.txLengths = new int[tx];
        this.txPayloadOffsets = new int[tx];
        this.txPayloadLengths = new int[tx];
        this.pollFds = arena.allocate(Xsk.POLLFD, 2);
        this.socketPollFd = pollFds.asSlice(Xsk.POLLFD.byteSize(), Xsk.POLLFD.byteSize());
    }

    /**
     * The factory of one server's XDP transports: resolves its interface and queues now.
     *
     * @param config the server's config (transport XDP)
     * @return a factory whose acceptors are one per RX queue served
     * @throws IllegalStateException naming what is missing
     */
    public static TransportFactory factory(ServerConfig config) {
        return new TransportFactory(TransportKind.XDP, XdpPlan.resolve(config));
    }

    @Override
    public SocketAddress localAddress() {
        return socket.localAddress();
    }

    /**
     * The bound socket's options and memberships (multicast arrives through it); TTL and
     * TRAFFIC_CLASS are refused at run time: the frames this transport writes would not follow them.
     */
    @Override
    public dev.abyss.server.transport.SocketControl control() {
        dev.abyss.server.transport.SocketControl inner = socket.control();
        return new dev.abyss.server.transport.SocketControl() {
            @Override
            public <T> void set(dev.abyss.server.UdpOption<T> option, T value) throws java.io.IOException {
                if (option == dev.abyss.server.UdpOption.TTL || option == dev.abyss.server.UdpOption.TRAFFIC_CLASS) {
                    throw new UnsupportedOperationException("socketOption " + option + ": transport XDP writes its frames' "
                            + "headers itself; set it with ServerConfig.Builder.socketOption before start");
                }
                inner.set(option, value);
            }

            @Override
            public <T> T get(dev.abyss.server.UdpOption<T> option) throws java.io.IOException {
                return inner.get(option);
            }

            @Override
            public void membership(dev.abyss.server.MulticastGroup group, boolean join) throws java.io.IOException {
                inner.membership(group, join);
            }
        };
    }

    @Override
    public int poll(long timeoutNanos) {
        flush();
        int work = turn();
        // the bound socket is read when its epoll said so, and every SOCKET_EVERY turns while frames keep
        // coming: one epoll_wait per turn would cost more than the frames themselves
        if (socketReady || ++socketTurns % SOCKET_EVERY == 0 && socketHasWork()) {
            socketReady = false;
            work += socket.poll(0);
        }
        if (work == 0 && timeoutNanos != 0) {
            int ms = timeoutNanos < 0 ? -1 : (int) Math.min(Integer.MAX_VALUE, (timeoutNanos + 999_999) / 1_000_000);
            long stride = Xsk.POLLFD.byteSize();
            pollFds.set(JAVA_INT, 0, xsk.fd());
            pollFds.set(JAVA_SHORT, 4, (short) Xsk.POLLIN);
            pollFds.set(JAVA_SHORT, 6, (short) 0);
            pollFds.set(JAVA_INT, stride, socket.readinessFd());
            pollFds.set(JAVA_SHORT, stride + 4, (short) Xsk.POLLIN);
            pollFds.set(JAVA_SHORT, stride + 6, (short) 0);
            // EINTR or a timeout: the turn below finds nothing, that is all
            if (LibC.pollWait(pollFds, 2, ms) > 0 && pollFds.get(JAVA_SHORT, stride + 6) != 0) {
                socketReady = true; // a datagram, a send result or a wake-up for the socket's side
            }
            work = turn();
            if (socketReady) {
                socketReady = false;
                work += socket.poll(0);
            }
        }
        return work;
    }

    /** Whether the bound socket's epoll says it has work, asked without waiting (and without an allocation). */
    private boolean socketHasWork() {
        socketPollFd.set(JAVA_INT, 0, socket.readinessFd());
        socketPollFd.set(JAVA_SHORT, 4, (short) Xsk.POLLIN);
        socketPollFd.set(JAVA_SHORT, 6, (short) 0);
        return LibC.pollWait(socketPollFd, 1, 0) != 0; // ready, or a failure: let the socket's own poll look
    }

    /** Frames sent come back, frames received go to the engine, the fill ring is topped up. */
    private int turn() {
        xsk.collectCompleted();
        if (kickError != 0) {
            receiver.onReceiveError(kickError);
            kickError = 0;
        }
        if (++turns % STATS_EVERY == 0) {
            reportDrops();
        }
        if (socketSends != 0) {
            receiver.onSocketSends(socketSends);
            socketSends = 0;
        }
        long contested = nextHops.takeContested();
        if (contested != 0) {
            receiver.onHopsContested(contested);
        }
        if (!receiving) {
            return 0;
        }
        XskRing rx = xsk.rx;
        int n = rx.available(batch);
        if (n > 0) {
            receiver.beginBatch();
            long now = System.nanoTime();
            long umemSize = umem.byteSize();
            for (int i = 0; i < n; i++) {
                long at = rx.consumerEntry(i);
                long addr = rx.descAddress(at);
                int len = rx.descLength(at);
                if (addr < 0 || len < 0 || addr + len > umemSize) {
                    receiver.onReceiveError(EBADMSG); // a descriptor outside the UMEM: the kernel never writes one
                    continue;
                }
                FrameCheck check = parser.parse(umem, addr, len, frame);
                if (check == FrameCheck.OK) {
                    replyHop = nextHops.learn(frame.source(), frame.hop(), now);
                    MemorySegment view = views.view(umem, (int) (addr / frameSize), frame.payloadLength(),
                            frame.payloadOffset(), frame.payloadLength());
                    receiver.onDatagram(frame.source(), view, frame);
                    replyHop = null;
                } else {
                    receiver.onReceiveError(EBADMSG);
                    receiver.onFrameRefused(len); // the part after its whole (Counters' read order)
                }
                xsk.giveFrame(addr); // the view was valid during the callback only
            }
            rx.release(n);
        }
        xsk.refill();
        if (xsk.fill.needsWakeup()) {
            xsk.pollRx(0); // the driver waits for a syscall to take the fill ring again
        }
        return n;
    }

    private void reportDrops() {
        if (!xsk.statistics(stats)) {
            return; // read again in STATS_EVERY turns
        }
        long drops = stats[0] + stats[3]; // rx_dropped (no fill frame, too long), rx_ring_full
        if (drops > reportedDrops) {
            receiver.onKernelDrops(drops - reportedDrops);
            reportedDrops = drops;
        }
    }

    @Override
    public boolean send(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length) {
        NextHop hop = replyHop != null && to.equals(frame.source()) ? replyHop : nextHops.of(to);
        if (hop != null && txCount < txTags.length) {
            long f = xsk.takeFrame();
            if (f < 0 && xsk.collectCompleted() > 0) {
                f = xsk.takeFrame(); // the kernel had sent some since the turn began
            }
            if (f >= 0) {
                // the link's MTU plus the Ethernet header: a longer datagram is the socket's, which fragments it
                int capacity = Math.min(frameSize, plan.mtu + (hop.vlanTci() == NextHop.UNTAGGED ? 14 : 18));
                PeerKey source = from != null ? from : local;
                int written = writer.write(umem, f, capacity, hop, to, source, trafficClass, src, offset, length);
                if (written > 0) {
                    txTags[txCount] = tag;
                    txFrames[txCount] = f;
                    txLengths[txCount] = written;
                    txPayloadOffsets[txCount] = written - length;
                    txPayloadLengths[txCount] = length;
                    txCount++;
                    return true;
                }
                xsk.giveFrame(f); // too large, or no source: the socket sends it
            }
        }
        socketSends++; // counted by the next turn: never a sink call from inside send
        return socket.send(tag, to, from, trafficClass, src, offset, length);
    }

    @Override
    public int sendRoom() {
        int frames = Math.min(xsk.freeFrames(), txTags.length - txCount);
        return frames + socket.sendRoom();
    }

    @Override
    public void flush() {
        if (txCount > 0) {
            XskRing tx = xsk.tx;
            int n = tx.freeSlots(txCount);
            for (int i = 0; i < n; i++) {
                tx.desc(tx.producerEntry(i), txFrames[i], txLengths[i]);
            }
            tx.submit(n);
            for (int i = 0; i < txCount; i++) {
                if (i < n) {
                    sender.sent(txTags[i], umem, txFrames[i] + txPayloadOffsets[i], txPayloadLengths[i]);
                } else {
                    // the TX ring is full: the kernel is behind; the datagram is dropped and reported
                    sender.failed(txTags[i], umem, txFrames[i] + txPayloadOffsets[i], txPayloadLengths[i],
                            Errno.EAGAIN);
                    xsk.giveFrame(txFrames[i]);
                }
                txTags[i] = null;
            }
            txCount = 0;
        }
        // also frames an earlier kick left on the ring (the device was busy)
        long kick = xsk.kickTx();
        if (kick < 0 && kick != -Errno.EAGAIN && kick != -Errno.EBUSY && kick != -Errno.ENOBUFS) {
            kickError = (int) -kick; // reported by the next turn: the receive sink is called from poll only
        }
        socket.flush();
    }

    @Override
    public void settleSends() {
        flush();
        socket.settleSends();
    }

    @Override
    public void wakeup() {
        socket.wakeup();
    }

    @Override
    public void stopReceiving() {
        receiving = false;
        socket.stopReceiving();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        flush();
        reportDrops();
        closed = true;
        xsk.close();
        socket.close();
        arena.close();
        plan.release();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /**
     * {@return the RX queue this transport serves}
     */
    public int queue() {
        return queue;
    }
}
