package dev.abyss.server.transport;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.net.ErrorQueue;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A native socket's ICMP errors, as IP_RECVERR / IPV6_RECVERR deliver them (see {@link UdpSocket}):
 * reads the socket's error queue into {@link Transport.ReceiveSink#onUnreachable}, and tells which
 * failed receives and sends were only the echo of such an error.
 *
 * <p>With IP_RECVERR the kernel does two things with an ICMP error about a datagram the socket sent:
 * it queues an entry (the peer's address and a {@code sock_extended_err}) on the error queue, which
 * makes the socket report EPOLLERR, and it leaves the error's errno pending on the socket, so the
 * next receive or send on it fails once with that errno (ECONNREFUSED for port unreachable), whatever
 * peer that call is about; reading the last entry of the queue clears the pending error. The
 * transports therefore read the queue when EPOLLERR or such a failure shows up, never count a
 * receive that failed with it as a receive error (its entry is counted as unreachable instead), and
 * send a datagram refused with it again (it was refused for someone else's error; up to
 * {@link #SEND_RETRIES} times).
 *
 * <p>Allocates nothing per entry. One per socket, owner thread only.
 */
public final class SocketErrors {
    /** Entries read per {@link #drain}: a storm of ICMP errors cannot hold the acceptor from its other work. */
    public static final int MAX_PER_DRAIN = 64;
    /**
     * Times a send refused with an ICMP errno is tried again. Each refusal took the pending error, so
     * the next try goes out unless another ICMP error came meanwhile, which on loopback it does when
     * the datagram sent just before drew one (the kernel answers a closed port inside the send).
     */
    public static final int SEND_RETRIES = 3;

    private final ErrorQueue queue;
    private final Transport.ReceiveSink sink;
    private final PeerKey peer = new PeerKey();
    private final MemorySegment soError;
    private final MemorySegment soErrorLength;
    private boolean more;

    public SocketErrors(Arena arena, Transport.ReceiveSink sink) {
        this.queue = new ErrorQueue(arena);
        this.sink = sink;
        this.soError = arena.allocate(JAVA_INT);
        this.soErrorLength = arena.allocate(JAVA_INT);
    }

    /**
     * Reads up to {@link #MAX_PER_DRAIN} entries of {@code fd}'s error queue, reporting each ICMP
     * error about a peer to the sink ({@link Transport.ReceiveSink#beginBatch} first). Returns the
     * entries read (0: the queue was empty).
     */
    public int drain(int fd) {
        more = false;
        int n = 0;
        while (n < MAX_PER_DRAIN) {
            if (queue.read(fd) <= 0) {
                return n; // empty (EAGAIN), or the socket is gone
            }
            if (n++ == 0) {
                sink.beginBatch();
            }
            if (queue.fromIcmp() && queue.errno() != 0 && queue.peer(peer)) {
                sink.onUnreachable(peer, queue.errno(), queue.quote(), queue.quoteLength());
            }
        }
        more = true;
        return n;
    }

    /** True when the last {@link #drain} stopped at its bound: entries may be left. */
    public boolean more() {
        return more;
    }

    /**
     * Takes the error left pending on {@code fd} (getsockopt SO_ERROR clears it) and returns it, 0 for
     * none. For an error whose queue entry never came (the kernel queues none when the receive buffer
     * is full, but leaves the errno pending): epoll would report EPOLLERR for it until it is taken.
     */
    public int clearPending(int fd) {
        soErrorLength.set(JAVA_INT, 0, 4);
        int rc = LibC.getsockopt(fd, Net.SOL_SOCKET, Net.SO_ERROR, soError, soErrorLength);
        return rc < 0 ? 0 : soError.get(JAVA_INT, 0);
    }

    /**
     * True for the errnos an ICMP error leaves pending on a socket (the kernel's icmp_err_convert and
     * icmpv6_err_convert): a receive or send failing with one failed, most likely, for an ICMP error
     * about any peer, not for itself.
     */
    public static boolean isIcmpErrno(int errno) {
        return switch (errno) {
            case Errno.ECONNREFUSED, Errno.EHOSTUNREACH, Errno.ENETUNREACH, Errno.EHOSTDOWN, Errno.ENONET,
                 Errno.ENOPROTOOPT, Errno.EPROTO, Errno.EMSGSIZE, Errno.EOPNOTSUPP, Errno.EACCES -> true;
            default -> false;
        };
    }
}
