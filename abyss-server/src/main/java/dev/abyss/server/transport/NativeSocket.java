package dev.abyss.server.transport;

import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.net.SocketAddress;

/**
 * What a native transport (EPOLL, IO_URING) opens around its socket, and the one order in which it
 * is given back. Opening ({@link #open}): an arena for the transport's buffers, the bound socket
 * ({@link UdpSocket}), a wake-up eventfd ({@link Wakeup}), then the transport itself, which
 * registers the kernel objects it adds ({@link #own}: an epoll set; a ring and its buffer ring). A
 * failure anywhere gives back everything opened so far. Closing ({@link #close}): the eventfd
 * first, then the owned objects in reverse order (a buffer ring before its ring), then the socket,
 * last the arena; the transport has made sure before that the kernel holds no pointer into it
 * ({@link NativeTransport#windDown}).
 *
 * <p>Owner thread only, except {@link #isClosed()}.
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
    private final AutoCloseable[] owned = new AutoCloseable[MAX_OWNED];
    private int ownedCount;
    private volatile boolean closed;

    private NativeSocket(Arena arena, UdpSocket socket, Wakeup wake) {
        this.arena = arena;
        this.socket = socket;
        this.wake = wake;
    }

    /**
     * Opens a socket bound to {@code address} with the {@code settings}' options (SO_REUSEPORT when
     * {@code reusePort}, the address proven free first when {@code probeFirst}; non-blocking or
     * not), what goes with it, and the transport {@code builder} makes on it. On a failure
     * everything opened is closed again and the failure thrown.
     */
    public static <T> T open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                             boolean nonBlocking, Builder<T> builder) throws NativeException {
        Arena arena = Arena.ofShared();
        UdpSocket socket = null;
        Wakeup wake = null;
        NativeSocket s = null;
        try {
            socket = UdpSocket.open(settings, address, reusePort, probeFirst, nonBlocking);
            wake = Wakeup.open();
            s = new NativeSocket(arena, socket, wake);
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

    /** {@return where the transport's buffers live: freed by {@link #close()}, last} */
    public Arena arena() {
        return arena;
    }

    public UdpSocket socket() {
        return socket;
    }

    public Wakeup wake() {
        return wake;
    }
}
