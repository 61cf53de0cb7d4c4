package dev.abyss.server.transport.epoll;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.DeferredResults;
import dev.abyss.server.transport.Gso;
import dev.abyss.server.transport.NativeSocket;
import dev.abyss.server.transport.NativeTransport;
import dev.abyss.server.transport.ReceivedDatagram;
import dev.abyss.server.transport.SendControl;
import dev.abyss.server.transport.SocketErrors;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import dev.abyss.server.transport.UdpSocket;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

/**
 * The EPOLL transport: a non-blocking socket and an eventfd in one epoll set, recvmmsg into a
 * preallocated {@link MessageBatch}, sends gathered into a second batch and written with one
 * sendmmsg per receive batch. When the kernel's send buffer is full (EAGAIN) the unsent rest stays
 * queued and the socket is watched for EPOLLOUT.
 *
 * <p>Kernel reports: each receive slot has {@link #CONTROL_SPACE} bytes of control space for the
 * SO_RXQ_OVFL drop count, read only for datagrams that carry control bytes ({@link DropCounter}).
 * ICMP errors about peers: epoll reports EPOLLERR for the socket (always, unasked) while its error
 * queue holds entries; the turn then reads the queue ({@link SocketErrors}, bounded per turn; EPOLLERR
 * is level-triggered, so the rest comes next turn). A recvmmsg that fails with the error left pending
 * by such an ICMP error reads the queue and receives again at once (the datagrams wait behind the
 * error); a send refused with it is sent again.
 *
 * <p>Send results: a send that finds the batch full hands it to the kernel at once (sendmmsg) to
 * make room, and keeps the results ({@link DeferredResults}) for the next {@link #flush()}: the sinks
 * hear nothing inside {@link #send}.
 */
public final class EpollTransport extends NativeTransport {
    /** Opens EPOLL transports. */
    public static final TransportFactory FACTORY = new TransportFactory(TransportKind.EPOLL, EpollTransport::open);

    static final int SEND_SLOT = 65_536;
    /** Control-message space per receive slot of an IP socket: every datagram fact ({@link ReceivedDatagram}). */
    static final int CONTROL_SPACE = ReceivedDatagram.CONTROL_SPACE;
    /** Receive batches per poll while datagrams keep coming, before the engine serves timers and queues. */
    private static final int RECEIVE_ROUNDS = 8;
    private static final long SOCKET_TOKEN = 1;
    private static final long WAKE_TOKEN = 2;
    private static final long MSGHDR_SIZE = MsgLayouts.MSGHDR.byteSize();

    private final Epoll epoll;
    private final MessageBatch in;
    private final MessageBatch out;
    /** Datagrams in each queued send (more than one: a GSO send), and their segment size. */
    private final int[] outSegments;
    private final int[] outSegmentSize;
    /** The tag of each queued send, handed back with its result. */
    private final Object[] outTags;
    private int outStart;
    private int outCount;
    /** The queued send refused with an ICMP errno and being tried again (-1: none), and how often it was. */
    private int retrying = -1;
    private int retries;
    /**
     * A send may have taken the error an ICMP report left pending (sendmmsg stopped short, or failed
     * with an ICMP errno): its entry waits on the error queue, and EPOLLERR is not asked while
     * datagrams keep coming (read-again skips epoll_wait), so the turn reads the queue itself.
     */
    private boolean checkErrors;
    private boolean receiving = true;
    private boolean watchingOut;
    /** The last poll read a full batch: read again before asking epoll (one syscall fewer per batch). */
    private boolean readAgain;

    private EpollTransport(NativeSocket io, Epoll epoll, TransportSettings settings, ReceiveSink receiver, SendSink sender) {
        super(io, settings.receiveBatchSize(), receiver, sender);
        this.epoll = epoll;
        UdpSocket socket = io.socket();
        this.in = new MessageBatch(io.arena(), settings.receiveBatchSize(), settings.maxDatagramSize(),
                socket.controlSpace(CONTROL_SPACE));
        this.out = new MessageBatch(io.arena(), settings.receiveBatchSize(), SEND_SLOT, socket.controlSpace(SendControl.SPACE));
        this.outTags = new Object[out.capacity()];
        this.outSegments = new int[out.capacity()];
        this.outSegmentSize = new int[out.capacity()];
    }

    static EpollTransport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                               ReceiveSink receiver, SendSink sender) throws NativeException {
        return NativeSocket.open(settings, address, reusePort, probeFirst, true, io -> {
            Epoll ep = io.own(Epoll.create(4));
            ep.add(io.socket().fd(), Epoll.EPOLLIN, SOCKET_TOKEN);
            ep.add(io.wake().fd(), Epoll.EPOLLIN, WAKE_TOKEN);
            return new EpollTransport(io, ep, settings, receiver, sender);
        });
    }

    /**
     * {@return a descriptor that is readable while this transport has work (its epoll instance): a
     * transport that wraps this one (XDP, for its socket) waits on it beside its own}
     */
    public int readinessFd() {
        return epoll.fd();
    }

    @Override
    public int poll(long timeoutNanos) {
        flush();
        int work = 0;
        boolean readable = readAgain && receiving;
        if (!readable) {
            int n = epoll.await(timeoutNanos == 0 || readAgain ? 0
                    : timeoutNanos < 0 ? -1 : (int) Math.min(Integer.MAX_VALUE, (timeoutNanos + 999_999) / 1_000_000));
            for (int i = 0; i < n; i++) {
                if (epoll.data(i) == WAKE_TOKEN) {
                    io.wake().consume();
                    work++;
                    continue;
                }
                int events = epoll.events(i);
                if ((events & Epoll.EPOLLERR) != 0) {
                    work += drainErrors(); // ICMP errors about peers
                }
                if ((events & Epoll.EPOLLOUT) != 0 && outCount > outStart) {
                    flush(); // writable again
                    work++;
                }
                if ((events & Epoll.EPOLLIN) != 0) {
                    readable = true;
                }
            }
        }
        readAgain = false;
        if (readable && receiving) {
            for (int round = 0; round < RECEIVE_ROUNDS; round++) {
                int n = receiveBatch();
                flush(); // one sendmmsg per receive batch carries the replies
                if (n > 0) {
                    work += n;
                    readAgain = true; // datagrams keep coming: next time read before asking epoll
                }
                if (n < in.capacity()) {
                    break;
                }
            }
        }
        if (checkErrors) {
            checkErrors = false;
            work += errors.drain(fd); // (usually empty: a full send buffer also stops sendmmsg short)
        }
        return work;
    }

    /** One recvmmsg into the sink; returns datagrams received, 0 when none, or {@code -errno}. */
    private int receiveBatch() {
        int n = in.receive(fd, in.capacity(), Net.MSG_DONTWAIT);
        if (n < 0 && SocketErrors.isIcmpErrno(-n)) {
            // the error an ICMP report left pending, not ours: its entry is on the error queue, the datagrams behind it
            drainErrors();
            n = in.receive(fd, in.capacity(), Net.MSG_DONTWAIT);
            if (n < 0 && SocketErrors.isIcmpErrno(-n)) {
                return 0; // another one meanwhile: EPOLLERR brings its entry next turn
            }
        }
        if (n <= 0) {
            if (n != 0 && n != -Errno.EAGAIN && n != -Errno.EINTR) {
                io.socket().failIfLost(-n, "recvmmsg");
                receiver.onReceiveError(-n);
            }
            return n;
        }
        MemorySegment data = in.data();
        MemorySegment names = in.names();
        receiver.beginBatch();
        for (int i = 0; i < n; i++) {
            received.read(in.controls(), in.controlOffset(i), Math.min(in.controlLength(i), in.controlSize()), in.truncated(i));
            if (!peer.readFrom(names, in.nameOffset(i), in.nameLength(i))) {
                continue; // unreadable sender address: cannot answer or key it
            }
            deliver(data, i, in.dataOffset(i), Math.min(in.length(i), in.slotSize()));
        }
        return n;
    }

    /**
     * Reads the error queue into the sink; with no entry, takes the error pending without one (the
     * kernel queues none when the receive buffer is full), else EPOLLERR would repeat every turn.
     */
    private int drainErrors() {
        int n = errors.drain(fd);
        if (n == 0) {
            errors.clearPending(fd);
        }
        return n;
    }

    @Override
    public boolean send(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length) {
        int last = outCount - 1;
        if (last >= outStart && gso.joins(tag, to, from, trafficClass, length)) {
            // one more segment of the GSO send queued last: its bytes follow in the same slot
            int total = gso.bytes();
            MemorySegment.copy(src, offset, out.data(), out.dataOffset(last) + total, length);
            int segments = gso.join(length);
            int control = out.controlLength(last);
            if (segments == 2) {
                control += SendControl.writeSegment(out.controls(), out.controlOffset(last) + control, gso.segmentSize());
                outSegmentSize[last] = gso.segmentSize();
            }
            out.prepareSend(last, total + length, out.nameLength(last), control);
            outSegments[last] = segments;
            return true;
        }
        if (room() == 0) {
            return false; // the kernel's buffer and ours are both full
        }
        int i = outCount++;
        outTags[i] = tag;
        outSegments[i] = 1;
        MemorySegment.copy(src, offset, out.data(), out.dataOffset(i), length);
        int control = from == null && trafficClass < 0 ? 0
                : sendControl.write(to, from, trafficClass, out.controls(), out.controlOffset(i));
        out.prepareSend(i, length, to.writeTo(out.names(), out.nameOffset(i)), control);
        gso.start(tag, to, from, trafficClass, length);
        return true;
    }

    @Override
    public int sendRoom() {
        return room();
    }

    /**
     * Room in the send batch; a full one is handed to the kernel first, its results kept for the
     * next flush (this runs inside send(), in a handler's call: no sink is told anything here).
     */
    private int room() {
        if (outCount == out.capacity()) {
            handOver(deferred);
            if (outCount == out.capacity()) {
                compact();
            }
        }
        return out.capacity() - outCount;
    }

    /** Reports the results kept since the last flush, then hands the queued sends to the kernel and reports theirs. */
    @Override
    public void flush() {
        deferred.report();
        handOver(sender);
    }

    /**
     * Hands the queued sends to the kernel (sendmmsg until it takes no more) and tells {@code to}
     * their results: the engine's sink at a reporting point, {@link DeferredResults} inside a send.
     */
    private void handOver(SendSink to) {
        if (outStart < outCount) {
            gso.close(); // the open send goes to the kernel now
        }
        while (outStart < outCount) {
            int sent = out.send(fd, outStart, outCount - outStart, Net.MSG_DONTWAIT);
            if (sent > 0 && sent < outCount - outStart) {
                checkErrors = true; // the next one failed: its error is lost, it may have been an ICMP report's
            }
            if (sent > 0) {
                retrying = -1;
                for (int k = 0; k < sent; k++) {
                    int i = outStart + k;
                    if (outSegments[i] > 1) {
                        Gso.reportSent(to, outTags[i], out.data(), out.dataOffset(i), out.iovLength(i), outSegmentSize[i],
                                outSegments[i]);
                    } else {
                        to.sent(outTags[i], out.data(), out.dataOffset(i), out.length(i));
                    }
                    outTags[i] = null;
                }
                outStart += sent;
            } else if (sent == -Errno.EAGAIN) {
                watchWritable(true);
                return; // the rest stays queued until EPOLLOUT
            } else if (sent != -Errno.EINTR) {
                if (outSegments[outStart] > 1 && gso.splits(-sent)) {
                    // a GSO send refused (segments above the path MTU, no offload): its datagrams go one by one
                    checkErrors |= SocketErrors.isIcmpErrno(-sent);
                    retrying = -1;
                    refusedSegments(to, outStart, -sent);
                    outTags[outStart++] = null;
                    continue;
                }
                if (SocketErrors.isIcmpErrno(-sent) && (retrying != outStart || retries < SocketErrors.SEND_RETRIES)) {
                    // most likely the error an ICMP report about another peer left pending, now taken: send again
                    retries = retrying == outStart ? retries + 1 : 1;
                    retrying = outStart;
                    checkErrors = true;
                    continue;
                }
                retrying = -1;
                io.socket().failIfLost(-sent, "sendmmsg");
                // the first entry failed: skip it, keep the rest
                if (outSegments[outStart] > 1) {
                    refusedSegments(to, outStart, -sent);
                } else {
                    to.failed(outTags[outStart], out.data(), out.dataOffset(outStart), out.iovLength(outStart), -sent);
                }
                outTags[outStart++] = null;
            }
        }
        outStart = 0;
        outCount = 0;
        retrying = -1;
        if (watchingOut) {
            watchWritable(false);
        }
    }

    /** A GSO send refused with {@code errno}: sent again one by one, or failed datagram by datagram ({@link Gso#reportRefused}). */
    private void refusedSegments(SendSink to, int i, int errno) {
        MemorySegment header = out.msgvec().asSlice(out.msghdrAddress(i) - out.msgvec().address(), MSGHDR_SIZE);
        gso.reportRefused(to, fd, header, out.names(), out.nameOffset(i), outTags[i], out.data(), out.dataOffset(i),
                out.iovLength(i), outSegmentSize[i], errno);
    }

    private void compact() {
        if (outStart == 0) {
            return;
        }
        gso.close(); // entries move: nothing joins a moved one
        for (int i = outStart; i < outCount; i++) {
            int to = i - outStart;
            MemorySegment.copy(out.data(), out.dataOffset(i), out.data(), out.dataOffset(to), out.iovLength(i));
            MemorySegment.copy(out.names(), out.nameOffset(i), out.names(), out.nameOffset(to), SockAddr.STORAGE_SIZE);
            int control = out.controlLength(i);
            if (control > 0) {
                MemorySegment.copy(out.controls(), out.controlOffset(i), out.controls(), out.controlOffset(to), control);
            }
            out.prepareSend(to, out.iovLength(i), out.nameLength(i), control);
            outSegments[to] = outSegments[i];
            outSegmentSize[to] = outSegmentSize[i];
            outTags[to] = outTags[i];
            outTags[i] = null;
        }
        outCount -= outStart;
        outStart = 0;
        retrying = -1;
    }

    private void watchWritable(boolean on) {
        try {
            epoll.modify(fd, (receiving ? Epoll.EPOLLIN : 0) | (on ? Epoll.EPOLLOUT : 0), SOCKET_TOKEN);
            watchingOut = on;
        } catch (NativeException e) {
            io.socket().failIfLost(e.errno() == Errno.ENOENT ? Errno.EBADF : e.errno(), "epoll_ctl");
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stopReceiving() {
        receiving = false;
        readAgain = false;
        try {
            epoll.modify(fd, watchingOut ? Epoll.EPOLLOUT : 0, SOCKET_TOKEN);
        } catch (NativeException e) {
            if (e.errno() == Errno.EBADF || e.errno() == Errno.ENOENT) {
                io.socket().markLost(); // closed underneath us: nothing left to stop, nothing to close again
                return;
            }
            throw new IllegalStateException(e);
        }
    }

    /** Sends and reports what is queued: nothing of the kernel's points into the arena afterwards. */
    @Override
    protected void windDown() {
        flush();
    }
}
