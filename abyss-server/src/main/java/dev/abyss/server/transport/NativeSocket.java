package dev.abyss.server.transport;

import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.net.SocketAddress;

/**
 * What a native transport (EPOLL, IO_URING) opens around its socket, and the one order in which it
 * is given back. Opening ({@link #open}): an arena for the transport's buffers, the bound socket
 * ({@link UdpSocket}), a wake-up eventfd ({@link Wakeup}), the per-socket readers and writers both
 * transports use, then the transport itself, which registers the kernel objects it adds
 * ({@link #own}: an epoll set; a ring and its buffer ring). A failure anywhere gives back
 * everything opened so far. Closing ({@link #close}): the eventfd first, then the owned objects
 * in reverse order (a buffer ring before its ring), then the socket, last the arena; the transport
 * has made sure before that the kernel holds no pointer into it.
 *
 * <p>The per-socket parts: where each datagram arrived ({@link ArrivalAddress}), its facts
 * ({@link ReceivedDatagram}, with the {@link DropCounter}), the error queue ({@link SocketErrors}),
 * the send control messages ({@link SendControl}), GSO ({@link Gso}), and the results kept inside a
 * send ({@link DeferredResults}).
 *
 * <p>Owner thread only, except {@link #isClosed()} and {@link #localAddress()}.
 */
public final class NativeSocket {
    /** Most kernel objects a transport registers with {@link #own}. */
    private static final int MAX_OWNED = 4;

    /** Builds a transport on an open socket. */
    @FunctionalInterface
    public interface Builder<T> {
        /** Opens what the transport adds (registering each with {@link #own}) and constructs it. */
        T build(NativeSocket socket) throws NativeException;
    }

    private final Arena arena;
    private final UdpSocket socket;
    private final Wakeup wake;
    private final Transport.ReceiveSink receiver;
    private final Transport.SendSink sender;
    private final DeferredResults deferred;
    private final ArrivalAddress arrival;
    private final ReceivedDatagram received;
    private final SendControl sendControl;
    private final Gso gso;
    private final SocketErrors errors;
    private final AutoCloseable[] owned = new AutoCloseable[MAX_OWNED];
    private int ownedCount;
    private volatile boolean closed;

    private NativeSocket(Arena arena, UdpSocket socket, Wakeup wake, Transport.ReceiveSink receiver,
                         Transport.SendSink sender) {
        this.arena = arena;
        this.socket = socket;
        this.wake = wake;
        this.receiver = receiver;
        this.sender = sender;
        this.deferred = new DeferredResults(sender);
        this.arrival = socket.arrivalAddress();
        this.received = socket.receivedDatagram(arrival, new DropCounter(receiver));
        this.sendControl = socket.sendControl(arrival);
        this.gso = socket.gso(arena);
        this.errors = new SocketErrors(arena, receiver);
    }

    /**
     * Opens a socket bound to {@code address} with the {@code settings}' options (SO_REUSEPORT when
     * {@code reusePort}, the address proven free first when {@code probeFirst}; non-blocking or
     * not), what goes with it, and the transport {@code builder} makes on it. On a failure
     * everything opened is closed again and the failure thrown.
     */
    public static <T> T open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                             boolean nonBlocking, Transport.ReceiveSink receiver, Transport.SendSink sender,
                             Builder<T> builder) throws NativeException {
        Arena arena = Arena.ofShared();
        UdpSocket socket = null;
        Wakeup wake = null;
        NativeSocket s = null;
        try {
            socket = UdpSocket.open(settings, address, reusePort, probeFirst, nonBlocking);
            wake = Wakeup.open();
            s = new NativeSocket(arena, socket, wake, receiver, sender);
            return builder.build(s);
        } catch (NativeException | RuntimeException | Error e) {
            try {
                if (s != null) {
                    s.close();
                } else {
                    release(wake, null, 0, socket, arena);
                }
            } catch (RuntimeException | Error again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /**
     * Registers {@code resource} (opened by the transport's builder) to be closed with the socket:
     * after the eventfd, before the socket, in reverse order of registration. Returns it.
     */
    public <C extends AutoCloseable> C own(C resource) {
        if (ownedCount == MAX_OWNED) {
            throw new IllegalStateException("a transport owns at most " + MAX_OWNED + " kernel objects");
        }
        owned[ownedCount++] = resource;
        return resource;
    }

    /**
     * Closes the eventfd, the owned objects (last registered first), the socket and the arena, each
     * even when an earlier one failed (the first failure is thrown at the end). Idempotent. The
     * transport calls it last, once nothing of the kernel's points into the arena any more.
     */
    public void close() {
        if (closed) {
            return;
        }
        try {
            release(wake, owned, ownedCount, socket, arena);
        } finally {
            closed = true;
        }
    }

    private static void release(Wakeup wake, AutoCloseable[] owned, int ownedCount, UdpSocket socket, Arena arena) {
        Throwable first = null;
        first = closeOne(wake, first); // other threads' signal() checks it: first, so none writes to a reused number
        for (int i = ownedCount - 1; i >= 0; i--) {
            first = closeOne(owned[i], first);
        }
        first = closeOne(socket, first);
        first = closeOne(arena, first);
        if (first instanceof RuntimeException r) {
            throw r;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException("closing a transport failed", first);
        }
    }

    private static Throwable closeOne(AutoCloseable c, Throwable first) {
        if (c == null) {
            return first;
        }
        try {
            c.close();
            return first;
        } catch (Throwable t) {
            if (first == null) {
                return t;
            }
            first.addSuppressed(t);
            return first;
        }
    }

    /** {@return true once {@link #close()} gave everything back; any thread} */
    public boolean isClosed() {
        return closed;
    }

    /** {@return the address the socket is bound to; any thread} */
    public SocketAddress localAddress() {
        return socket.localAddress();
    }

    /** {@return where the transport's buffers live: freed by {@link #close()}, last} */
    public Arena arena() {
        return arena;
    }

    public UdpSocket socket() {
        return socket;
    }

    /** {@return the socket's descriptor} */
    public int fd() {
        return socket.fd();
    }

    public Wakeup wake() {
        return wake;
    }

    /** {@return where received datagrams go} */
    public Transport.ReceiveSink receiver() {
        return receiver;
    }

    /** {@return where send results go at a reporting point} */
    public Transport.SendSink sender() {
        return sender;
    }

    /** {@return where send results go inside a send: reported at the next reporting point} */
    public DeferredResults deferred() {
        return deferred;
    }

    /** {@return where each datagram arrived and where replies leave from (wildcard binds)} */
    public ArrivalAddress arrival() {
        return arrival;
    }

    /** {@return the facts of the datagram being delivered, read from its control messages} */
    public ReceivedDatagram received() {
        return received;
    }

    /** {@return the writer of a send's control messages} */
    public SendControl sendControl() {
        return sendControl;
    }

    /** {@return the socket's GSO coalescing and its refusal fallback} */
    public Gso gso() {
        return gso;
    }

    /** {@return the reader of the socket's error queue (ICMP errors about peers)} */
    public SocketErrors errors() {
        return errors;
    }
}
