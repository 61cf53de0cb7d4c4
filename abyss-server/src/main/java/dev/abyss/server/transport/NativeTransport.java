package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

/**
 * What the native transports (EPOLL, IO_URING) do alike around their {@link NativeSocket}:
 * <ul>
 *   <li>handing a received datagram to the sink once its facts and sender are read
 *       ({@link #deliver}): a read-only view of its receive buffer ({@link ViewCache}), or the
 *       datagrams of a coalesced receive ({@link GroSplit});</li>
 *   <li>the address and the wake-up;</li>
 *   <li>closing in one order: {@link #windDown()} (the transport's last sends and results, and
 *       its wait until the kernel holds no pointer into its memory), then
 *       {@link NativeSocket#close()} (eventfd, kernel objects, socket, arena). A wind-down that
 *       throws frees nothing, since the kernel may still point into the memory; the failure goes
 *       to the caller.</li>
 * </ul>
 */
public abstract class NativeTransport implements Transport {
    /** Views kept per receive buffer: distinct lengths remembered. */
    private static final int VIEW_WAYS = 8;

    /** The socket, its eventfd, arena and kernel objects: opened and closed as one. */
    protected final NativeSocket io;
    /** The socket's descriptor. */
    protected final int fd;
    /** Where received datagrams go. */
    protected final ReceiveSink receiver;
    /** Where send results go at a reporting point. */
    protected final SendSink sender;
    /** Where send results go inside a send: reported at the next reporting point. */
    protected final DeferredResults deferred;
    /** The facts of the datagram being delivered (with the {@link DropCounter}): read by the transport, then {@link #deliver}. */
    protected final ReceivedDatagram received;
    /** The sender of the datagram being delivered: read by the transport, then {@link #deliver}. */
    protected final PeerKey peer = new PeerKey();
    /** The writer of a send's control messages: source address (IP_PKTINFO), traffic class, GSO size. */
    protected final SendControl sendControl;
    /** The socket's GSO coalescing and its refusal fallback. */
    protected final Gso gso;
    /** The reader of the socket's error queue: ICMP errors about peers. */
    protected final SocketErrors errors;
    private final boolean gro;
    private final ViewCache views;
    private final GroSplit groSplit;

    /**
     * @param io             the socket and what goes with it
     * @param receiveBuffers the transport's receive buffers (recvmmsg slots, provided buffers)
     * @param receiver       where received datagrams go
     * @param sender         where send results go
     */
    protected NativeTransport(NativeSocket io, int receiveBuffers, ReceiveSink receiver, SendSink sender) {
        UdpSocket socket = io.socket();
        ArrivalAddress arrival = socket.arrivalAddress(); // read by the receive side, written by the send side
        this.io = io;
        this.fd = socket.fd();
        this.receiver = receiver;
        this.sender = sender;
        this.deferred = new DeferredResults(sender);
        this.received = socket.receivedDatagram(arrival, new DropCounter(receiver));
        this.sendControl = socket.sendControl(arrival);
        this.gso = socket.gso(io.arena());
        this.errors = new SocketErrors(io.arena(), receiver);
        this.gro = socket.gro();
        this.views = new ViewCache(receiveBuffers, VIEW_WAYS);
        this.groSplit = new GroSplit(receiveBuffers);
    }

    /**
     * Hands the datagram of {@link #peer} with the facts in {@link #received} to the sink: the
     * {@code length} bytes at {@code offset} in {@code data}, in receive buffer {@code buffer}, as
     * one read-only view, or, for a coalesced receive (UDP_GRO), as the datagrams it was. Returns
     * the datagrams delivered.
     */
    protected final int deliver(MemorySegment data, int buffer, long offset, int length) {
        int segment = received.groSegmentSize();
        if (segment > 0 && length > segment && gro) {
            return groSplit.deliver(receiver, peer, data, buffer, offset, length, segment, received);
        }
        receiver.onDatagram(peer, views.view(data, buffer, length, offset, length), received);
        return 1;
    }

    @Override
    public final SocketAddress localAddress() {
        return io.socket().localAddress();
    }

    @Override
    public int socketFd() {
        return io.socket().fd();
    }

    @Override
    public final SocketControl control() {
        return io.socket();
    }

    @Override
    public final void steerByCpu(int sockets) throws dev.abyss.ffi.NativeException {
        io.socket().steerByCpu(sockets);
    }

    @Override
    public final void wakeup() {
        io.wake().signal();
    }

    @Override
    public final boolean isClosed() {
        return io.isClosed();
    }

    @Override
    public final void close() {
        if (io.isClosed()) {
            return;
        }
        windDown();
        io.close();
    }

    /**
     * Sends what is queued (bounded in time) and reports every result, and returns once the kernel
     * holds no pointer into this transport's memory (or a bounded wait for that ran out). Owner
     * thread; called once, by {@link #close()}.
     */
    protected abstract void windDown();
}
