package dev.abyss.server.transport.uring;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.uring.BufferRing;
import dev.abyss.ffi.uring.IoUring;
import dev.abyss.ffi.uring.IoUringConstants;
import dev.abyss.ffi.uring.Probe;
import dev.abyss.ffi.uring.RecvmsgOut;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.ArrivalAddress;
import dev.abyss.server.transport.DropCounter;
import dev.abyss.server.transport.GroSplit;
import dev.abyss.server.transport.Gso;
import dev.abyss.server.transport.ReceivedDatagram;
import dev.abyss.server.transport.SendControl;
import dev.abyss.server.transport.SocketErrors;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import dev.abyss.server.transport.UdpSocket;
import dev.abyss.server.transport.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static dev.abyss.ffi.uring.IoUringConstants.IORING_CQE_F_BUFFER;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_CQE_F_MORE;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_ASYNC_CANCEL;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_READ;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_RECVMSG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_SENDMSG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_RECV_MULTISHOT;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_SQ_CQ_OVERFLOW;
import static dev.abyss.ffi.uring.IoUringConstants.IOSQE_BUFFER_SELECT;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The IO_URING transport: one ring per acceptor; ONE multishot {@code IORING_OP_RECVMSG} armed on
 * the socket over a provided buffer ring, so the kernel receives datagram after datagram with no
 * submission per datagram; replies as {@code IORING_OP_SENDMSG} SQEs gathered during the turn and
 * submitted with the same {@code io_uring_enter} that waits for the next datagrams.
 *
 * <p>Handlers get a read-only view into the provided buffer (zero copy, valid for the callback);
 * the buffer returns to the kernel right after dispatch. Buffers all in use ({@code -ENOBUFS})
 * ends the multishot receive: it is counted as a receive error and re-armed once buffers are back,
 * the datagrams wait in the socket meanwhile. Wake-ups from other threads are writes to an eventfd
 * that a READ keeps watched. Sends copy the datagram into a send slot (its msghdr, iovec, address)
 * whose bytes come from a data ring released in submission order as completions arrive.
 *
 * <p>Completions are copied out of the CQ into {@link #pending} before they are handled, so a send
 * that must wait for a free slot inside a handler can reap send completions without re-entering
 * the dispatch of datagrams: those wait their turn in order.
 *
 * <p>Kernel reports. Drops: the msghdr of the multishot receive asks for {@link #CONTROL_SPACE}
 * bytes of control messages, which the kernel writes after the peer address in each buffer; a
 * datagram that carries the SO_RXQ_OVFL drop count updates {@link DropCounter}. The ring's own
 * losses are reported too: CQEs the kernel could not post at all (the CQ ring's overflow counter)
 * count as kernel drops; {@code -ENOBUFS} (no free buffer) does not, the datagrams wait in the socket.
 *
 * <p>ICMP errors about peers (IP_RECVERR, see {@link SocketErrors}). io_uring has no multishot read
 * of the error queue, and arming a POLL_ADD for POLLERR would cost a request per socket and a CQE per
 * error for a signal the ring already gives: the kernel leaves each ICMP error pending on the socket
 * and wakes its waiters, so the armed multishot RECVMSG completes at once with that errno
 * ({@code -ECONNREFUSED} for port unreachable), or a SENDMSG does when it runs first. Either
 * completion makes the turn read the error queue with plain {@code recvmsg(MSG_ERRQUEUE)} calls on the
 * acceptor thread (bounded per turn; the rest the next turn). The receive ended by the error is not
 * counted as a receive error and is armed again before the next wait (the datagrams wait in the
 * socket); the send is tried again at once with {@code sendmsg} (it was refused for an error about
 * another peer). No syscall and no SQE is spent while no ICMP error comes.
 */
public final class UringTransport implements Transport {
    /** Opens IO_URING transports. */
    public static final TransportFactory FACTORY = new TransportFactory(TransportKind.IO_URING, UringTransport::open);

    private static final int KIND_SHIFT = 32;
    private static final long RECV = 1L << KIND_SHIFT;
    private static final long SEND = 2L << KIND_SHIFT;
    private static final long WAKE = 3L << KIND_SHIFT;
    private static final long CANCEL = 4L << KIND_SHIFT;
    private static final int BUFFER_GROUP = 0;
    private static final int NAME_SPACE = SockAddr.STORAGE_SIZE;
    /**
     * Control-message space per receive buffer of an IP socket: every datagram fact
     * ({@link ReceivedDatagram}). None on AF_UNIX ({@link UdpSocket#controlSpace}).
     */
    static final int CONTROL_SPACE = ReceivedDatagram.CONTROL_SPACE;
    private static final long CONTROL_OFFSET = RecvmsgOut.controlOffset(NAME_SPACE);
    private static final int VIEW_WAYS = 8;
    private static final long MSGHDR_SIZE = MsgLayouts.MSGHDR.byteSize();
    private static final long IOVEC_SIZE = MsgLayouts.IOVEC.byteSize();
    /** A send slot: msghdr, iovec, peer address. */
    private static final long SLOT_SIZE = (MSGHDR_SIZE + IOVEC_SIZE + NAME_SPACE + SendControl.SPACE + 7) & ~7L;
    /** Where a send slot's control message (its source address) starts. */
    private static final long SLOT_CONTROL = MSGHDR_SIZE + IOVEC_SIZE + NAME_SPACE;
    private static final long WAIT_CLOSE_NANOS = 1_000_000_000L;
    private static final long MAX_WAIT_WITH_SENDS_NANOS = 100_000_000L;
    /**
     * Wait policy: how many completions one io_uring_enter waits for. "sends" (the default) waits
     * for the sends it submits plus one more event, so a turn with replies still blocks until the
     * next datagram or wake-up in the same syscall; "one" waits for any completion.
     */
    private static final boolean WAIT_FOR_SENDS = !"one".equals(System.getProperty("abyss.uring.wait", "sends"));

    private final Arena arena = Arena.ofShared();
    private final UdpSocket socket;
    private final IoUring ring;
    private final BufferRing buffers;
    private final Wakeup wake;
    private final ReceiveSink receiver;
    private final SendSink sender;
    private final PeerKey peer = new PeerKey();
    /** The peer of a refused GSO send (rare path). */
    private final PeerKey failedPeer = new PeerKey();
    private final int bufferSize;
    private final int maxDatagramSize;
    private final int payloadOffset;
    private final int controlSpace;
    /** Where each datagram arrived and where replies leave from (wildcard binds). */
    private final ArrivalAddress arrival;
    /** The facts of the datagram being delivered. */
    private final ReceivedDatagram received;
    private final SendControl sendControl;
    private final Gso gso;
    private final boolean gro;
    /** Splits coalesced receives into their datagrams. */
    private final GroSplit groSplit;
    /** The send slot a GSO send is open in (prepared, not yet submitted), -1 for none. */
    private int gsoSlot = -1;
    private final MemorySegment recvMsghdr;
    private final MemorySegment wakeBuffer;
    private final MemorySegment[] views;
    private final IoUring.CompletionHandler onCqe = this::onCompletion; // one instance: reaping allocates nothing
    private final DropCounter drops;
    private final SocketErrors errors;
    /** A completion failed with an ICMP errno, or the last drain stopped at its bound: read the error queue. */
    private boolean readErrorQueue;
    /** The CQ ring's overflow counter (CQEs lost) as last reported. */
    private int cqOverflowSeen;

    // send slots: free ids on a stack; ids in submission order in a FIFO that frees their data
    private final MemorySegment slots;
    private final MemorySegment sendData;
    private final long sendDataSize;
    private final int[] freeSlots;
    private int freeCount;
    private final int[] order;
    private int orderHead;
    private int orderCount;
    private final long[] slotDataEnd;
    private final boolean[] slotDone;
    private final Object[] slotTags;
    /** Datagrams in each slot's send (more than one: a GSO send), and their segment size. */
    private final int[] slotSegments;
    private final int[] slotSegmentSize;
    /** Each send slot's msghdr, for a send tried again at once with sendmsg. */
    private final MemorySegment[] slotHeaders;
    /** Slots to submit again: tried again at once after an ICMP errno, the kernel's buffer was full (a stack). */
    private final int[] resend;
    private int resendCount;
    private long dataHead; // oldest byte still in flight (offsets grow; modulo the ring size)
    private long dataTail; // where the next datagram's bytes go

    // completions copied out of the CQ, handled in order
    private long[] pendingData;
    private int[] pendingRes;
    private int[] pendingFlags;
    private int pendingHead;
    private int pendingCount;

    private boolean enabled;
    private boolean receiving = true;
    private boolean recvArmed;
    private boolean wakeArmed;
    private boolean buffersToPublish;
    /** Sends queued since the last enter. */
    private int unsubmittedSends;
    private int sendsInFlight;
    private volatile boolean closed;

    private UringTransport(UdpSocket socket, IoUring ring, BufferRing buffers, Wakeup wake, TransportSettings settings,
                           ReceiveSink receiver, SendSink sender, int sendSlots, long sendDataSize) {
        this.socket = socket;
        this.ring = ring;
        this.buffers = buffers;
        this.wake = wake;
        this.receiver = receiver;
        this.sender = sender;
        this.bufferSize = buffers.bufferSize();
        this.maxDatagramSize = settings.maxDatagramSize();
        this.controlSpace = socket.controlSpace(CONTROL_SPACE);
        this.arrival = socket.arrivalAddress();
        this.sendControl = socket.sendControl(arrival);
        this.gso = socket.gso(arena);
        this.gro = socket.gro();
        this.payloadOffset = (int) RecvmsgOut.payloadOffset(NAME_SPACE, controlSpace);
        this.views = new MemorySegment[buffers.entries() * VIEW_WAYS];
        this.groSplit = new GroSplit(buffers.entries());

        this.recvMsghdr = arena.allocate(MsgLayouts.MSGHDR);
        recvMsghdr.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, NAME_SPACE);
        recvMsghdr.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, controlSpace);
        this.wakeBuffer = arena.allocate(JAVA_LONG);

        this.slots = arena.allocate(SLOT_SIZE * sendSlots, 8);
        this.sendDataSize = sendDataSize;
        this.sendData = arena.allocate(sendDataSize, 64);
        this.freeSlots = new int[sendSlots];
        this.order = new int[sendSlots];
        this.slotDataEnd = new long[sendSlots];
        this.slotDone = new boolean[sendSlots];
        this.slotTags = new Object[sendSlots];
        this.slotSegments = new int[sendSlots];
        this.slotSegmentSize = new int[sendSlots];
        this.resend = new int[sendSlots];
        this.slotHeaders = new MemorySegment[sendSlots];
        this.drops = new DropCounter(receiver);
        this.received = socket.receivedDatagram(arrival, drops);
        this.errors = new SocketErrors(arena, receiver);
        for (int i = 0; i < sendSlots; i++) {
            long base = SLOT_SIZE * i;
            long iov = base + MSGHDR_SIZE;
            long name = iov + IOVEC_SIZE;
            slots.set(ADDRESS, base + MsgLayouts.MSG_NAME, slots.asSlice(name, NAME_SPACE));
            slots.set(ADDRESS, base + MsgLayouts.MSG_IOV, slots.asSlice(iov, IOVEC_SIZE));
            slots.set(JAVA_LONG, base + MsgLayouts.MSG_IOVLEN, 1);
            slots.set(ADDRESS, base + MsgLayouts.MSG_CONTROL, slots.asSlice(base + SLOT_CONTROL, SendControl.SPACE));
            slotHeaders[i] = slots.asSlice(base, MSGHDR_SIZE);
            freeSlots[freeCount++] = sendSlots - 1 - i;
        }
        int cq = ring.cqEntries();
        this.pendingData = new long[cq];
        this.pendingRes = new int[cq];
        this.pendingFlags = new int[cq];
    }

    static UringTransport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                               ReceiveSink receiver, SendSink sender) throws NativeException {
        int batch = settings.receiveBatchSize();
        int bufferCount = Integer.highestOneBit(Math.max(64, 2 * batch) - 1) << 1;
        bufferCount = Math.min(bufferCount, 32768);
        int sendSlots = Math.max(64, 4 * batch);
        long sendDataSize = Math.max(1L << 20, (long) batch * 65_536);
        // rounded up to a cache line: each buffer starts aligned, so the peer address reads aligned
        // (room for CONTROL_SPACE whatever the family: an AF_UNIX socket leaves it unused)
        int bufferSize = ((int) RecvmsgOut.payloadOffset(NAME_SPACE, CONTROL_SPACE) + settings.maxDatagramSize() + 63) & ~63;
        // blocking socket: io_uring polls it itself; O_NONBLOCK would hand EAGAIN back to us
        UdpSocket socket = UdpSocket.open(settings, address, reusePort, probeFirst, false);
        IoUring ring = null;
        BufferRing buffers = null;
        Wakeup wake = null;
        try {
            int cqEntries = Integer.highestOneBit(4 * (bufferCount + sendSlots) - 1) << 1;
            ring = UringSetup.ring(sendSlots + 16, cqEntries, true);
            buffers = BufferRing.register(ring, BUFFER_GROUP, bufferCount, bufferSize);
            wake = Wakeup.open();
            return new UringTransport(socket, ring, buffers, wake, settings, receiver, sender, sendSlots, sendDataSize);
        } catch (NativeException | RuntimeException e) {
            if (wake != null) {
                wake.close();
            }
            if (buffers != null) {
                buffers.close();
            }
            if (ring != null) {
                ring.close();
            }
            socket.close();
            throw e;
        }
    }

    /** Null when this kernel and process can run the transport, else why not (checked once). */
    public static String unavailableReason() {
        return UringSetup.unavailableReason();
    }

    @Override
    public SocketAddress localAddress() {
        return socket.localAddress();
    }

    // ---- the turn ------------------------------------------------------------------------------

    @Override
    public int poll(long timeoutNanos) {
        if (!enabled) {
            enable();
        }
        if (receiving && !recvArmed) {
            armReceive();
        }
        if (!wakeArmed) {
            armWake();
        }
        publishBuffers();
        int submitting = unsubmittedSends;
        unsubmittedSends = 0;
        submitted();
        int rc;
        if (timeoutNanos == 0 || readErrorQueue || pendingCount > 0 || ring.completionsReady() > 0) {
            rc = ring.submitAndGetEvents();
        } else {
            int waitFor = WAIT_FOR_SENDS ? submitting + 1 : 1;
            if (timeoutNanos < 0 && waitFor > 1) {
                timeoutNanos = MAX_WAIT_WITH_SENDS_NANOS; // a send that went async must not hold its result back for long
            }
            rc = timeoutNanos < 0 ? ring.submitAndWait(waitFor) : ring.submitAndWait(waitFor, timeoutNanos);
        }
        if (rc < 0 && rc != -Errno.ETIME && rc != -Errno.EINTR && rc != -Errno.EBUSY) {
            throw new IllegalStateException(new NativeException("io_uring_enter", -rc));
        }
        int work = handleCompletions();
        if ((ring.sqFlags() & IORING_SQ_CQ_OVERFLOW) != 0) {
            // completions the CQ had no room for wait in the kernel (NODROP): fetch them now
            receiver.onReceiveError(Errno.EBUSY);
            unsubmittedSends = 0;
            submitted(); // replies queued by the handlers just now go with this enter
            ring.submitAndGetEvents();
            work += handleCompletions();
        }
        int overflow = ring.cqOverflow();
        if (overflow != cqOverflowSeen) {
            // CQEs the kernel had to drop: a datagram taken from the socket whose completion never came
            receiver.onKernelDrops(Integer.toUnsignedLong(overflow - cqOverflowSeen));
            cqOverflowSeen = overflow;
        }
        if (readErrorQueue) {
            readErrorQueue = false;
            work += drainErrors();
        }
        publishBuffers();
        return work;
    }

    /** On the acceptor thread, which becomes the ring's single issuer: enable the ring and arm it. */
    private void enable() {
        int rc = ring.register(IoUringConstants.IORING_REGISTER_ENABLE_RINGS, MemorySegment.NULL, 0);
        if (rc < 0) {
            throw new IllegalStateException(new NativeException("io_uring_register(ENABLE_RINGS)", -rc));
        }
        enabled = true;
        cqOverflowSeen = ring.cqOverflow();
    }

    /** Copies every ready CQE out (sends finish at once), then handles the rest in order. */
    private int handleCompletions() {
        int work = reap();
        boolean batch = false;
        while (pendingCount > 0) {
            int i = pendingHead;
            long userData = pendingData[i];
            int res = pendingRes[i];
            int flags = pendingFlags[i];
            pendingHead = (i + 1) % pendingData.length;
            pendingCount--;
            long kind = userData & (0xFL << KIND_SHIFT);
            if (kind == RECV) {
                if (!batch && res >= 0) {
                    receiver.beginBatch();
                    batch = true;
                }
                work += onReceive(res, flags);
            } else if (kind == WAKE) {
                wakeArmed = false;
                wake.consumed();
                work++;
            }
            // CANCEL results need nothing: the cancelled receive reports itself
        }
        return work;
    }

    /**
     * Moves ready CQEs into {@link #pending}; send completions are finished here, and sends that
     * could not be tried again at once submitted again. Returns sends finished.
     */
    private int reap() {
        int before = sendsInFlight;
        ring.forEachCompletion(onCqe);
        while (resendCount > 0) {
            int slot = resend[--resendCount];
            int sqe = sqe(); // may reap again: the stack is consistent here
            ring.prep(sqe, IORING_OP_SENDMSG, socket.fd(), slots.address() + SLOT_SIZE * slot, 1, 0, 0, SEND | slot);
            unsubmittedSends++;
        }
        return before - sendsInFlight;
    }

    private void onCompletion(long userData, int res, int flags) {
        if ((userData & (0xFL << KIND_SHIFT)) == SEND) {
            sendDone((int) userData, res);
            return;
        }
        if (pendingCount == pendingData.length) {
            growPending();
        }
        int i = (pendingHead + pendingCount) % pendingData.length;
        pendingData[i] = userData;
        pendingRes[i] = res;
        pendingFlags[i] = flags;
        pendingCount++;
    }

    private void growPending() {
        int n = pendingData.length;
        long[] d = new long[2 * n];
        int[] r = new int[2 * n];
        int[] f = new int[2 * n];
        for (int k = 0; k < pendingCount; k++) {
            int i = (pendingHead + k) % n;
            d[k] = pendingData[i];
            r[k] = pendingRes[i];
            f[k] = pendingFlags[i];
        }
        pendingData = d;
        pendingRes = r;
        pendingFlags = f;
        pendingHead = 0;
    }

    // ---- receive -------------------------------------------------------------------------------

    private void armReceive() {
        int sqe = sqe();
        ring.prep(sqe, IORING_OP_RECVMSG, socket.fd(), recvMsghdr.address(), 1, 0, 0, RECV);
        ring.ioprio(sqe, IORING_RECV_MULTISHOT);
        ring.sqeFlags(sqe, IOSQE_BUFFER_SELECT);
        ring.bufferGroup(sqe, BUFFER_GROUP);
        recvArmed = true;
    }

    private void armWake() {
        int sqe = sqe();
        ring.prep(sqe, IORING_OP_READ, wake.fd(), wakeBuffer.address(), 8, 0, 0, WAKE);
        wakeArmed = true;
    }

    /** One receive completion: a datagram in a provided buffer, or why the multishot receive ended. */
    private int onReceive(int res, int flags) {
        if ((flags & IORING_CQE_F_MORE) == 0) {
            recvArmed = false; // ended (error, ENOBUFS, cancel): armed again before the next wait
        }
        if (res < 0) {
            socket.failIfLost(-res, "io_uring RECVMSG");
            if (SocketErrors.isIcmpErrno(-res)) {
                drainErrors(); // an ICMP error about a peer ended the receive: its entry waits on the error queue
            } else if (res != -Errno.ECANCELED && res != -Errno.EINTR) {
                receiver.onReceiveError(-res); // ENOBUFS included: counted, recovered by the re-arm
            }
            return 0;
        }
        if ((flags & IORING_CQE_F_BUFFER) == 0) {
            return 0;
        }
        int bid = BufferRing.bufferId(flags);
        MemorySegment all = buffers.buffers();
        long at = (long) bid * bufferSize;
        try {
            int control = RecvmsgOut.controlLength(all, at);
            int payload = RecvmsgOut.payloadLength(all, at);
            boolean truncated = payload > maxDatagramSize || (RecvmsgOut.flags(all, at) & Net.MSG_TRUNC) != 0;
            if (control > 0) {
                received.read(all, at + CONTROL_OFFSET, Math.min(control, controlSpace), truncated);
            } else {
                received.plain(truncated);
            }
            if (!receiving) {
                return 0; // raced with stopReceiving: not delivered, as on epoll
            }
            int nameLength = RecvmsgOut.nameLength(all, at);
            if (nameLength > NAME_SPACE || !peer.readFrom(all, at + RecvmsgOut.nameOffset(), nameLength)) {
                return 0; // unreadable sender address: cannot answer or key it
            }
            // the buffer is rounded up past maxDatagramSize: the cut is ours to make, as recvmmsg's would be
            int length = Math.max(0, Math.min(Math.min(payload, res - payloadOffset), maxDatagramSize));
            int segment = received.groSegmentSize();
            if (segment > 0 && length > segment && gro) {
                return groSplit.deliver(receiver, peer, all, bid, at + payloadOffset, length, segment, received);
            }
            receiver.onDatagram(peer, view(all, bid, at + payloadOffset, length), received);
            return 1;
        } finally {
            buffers.recycle(bid);
            buffersToPublish = true;
        }
    }

    /** Reads the socket's error queue into the sink (bounded: the rest next turn). */
    private int drainErrors() {
        int n = errors.drain(socket.fd());
        readErrorQueue |= errors.more();
        return n;
    }

    private MemorySegment view(MemorySegment all, int bid, long offset, int length) {
        int k = bid * VIEW_WAYS + (length & (VIEW_WAYS - 1));
        MemorySegment v = views[k];
        if (v == null || v.byteSize() != length) {
            v = all.asSlice(offset, length).asReadOnly();
            views[k] = v;
        }
        return v;
    }

    private void publishBuffers() {
        if (buffersToPublish) {
            buffersToPublish = false;
            buffers.publish();
        }
    }

    // ---- send ----------------------------------------------------------------------------------


    @Override
    public boolean send(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length) {
        if (gsoSlot >= 0 && gso.joins(tag, to, from, trafficClass, length) && join(gsoSlot, src, offset, length)) {
            return true;
        }
        long span = (length + 7) & ~7L;
        long at = dataTail % sendDataSize;
        long pad = at + span > sendDataSize ? sendDataSize - at : 0; // a datagram never straddles the end
        if (freeCount == 0 || (dataTail - dataHead) + pad + span > sendDataSize) {
            makeRoom();
            at = dataTail % sendDataSize;
            pad = at + span > sendDataSize ? sendDataSize - at : 0;
            if (freeCount == 0 || (dataTail - dataHead) + pad + span > sendDataSize) {
                return false;
            }
        }
        if (pad > 0) {
            at = 0;
        }
        dataTail += pad + span;
        int slot = freeSlots[--freeCount];
        order[(orderHead + orderCount++) % order.length] = slot;
        slotDataEnd[slot] = dataTail;
        slotDone[slot] = false;
        slotTags[slot] = tag;

        MemorySegment.copy(src, offset, sendData, at, length);
        long base = SLOT_SIZE * slot;
        long iov = base + MSGHDR_SIZE;
        slots.set(JAVA_LONG, iov + MsgLayouts.IOV_BASE, sendData.address() + at);
        slots.set(JAVA_LONG, iov + MsgLayouts.IOV_LEN, length);
        int nameLength = to.writeTo(slots, iov + IOVEC_SIZE);
        slots.set(JAVA_INT, base + MsgLayouts.MSG_NAMELEN, nameLength);
        slots.set(JAVA_LONG, base + MsgLayouts.MSG_CONTROLLEN, from == null && trafficClass < 0 ? 0
                : sendControl.write(to, from, trafficClass, slots, base + SLOT_CONTROL));
        slotSegments[slot] = 1;

        int sqe = sqe(); // may submit what is queued: the slot is then no longer open to GSO
        ring.prep(sqe, IORING_OP_SENDMSG, socket.fd(), slots.address() + base, 1, 0, 0, SEND | slot);
        sendsInFlight++;
        unsubmittedSends++;
        gso.start(tag, to, from, trafficClass, length);
        gsoSlot = gso.on() ? slot : -1;
        return true;
    }

    /**
     * Appends a datagram to the GSO send prepared in {@code slot} and not yet submitted (the kernel
     * reads its msghdr at submission): its bytes right after the slot's, which were the last ones
     * taken from the data ring. False when they do not fit before the ring's end or its head.
     */
    private boolean join(int slot, MemorySegment src, long offset, int length) {
        long base = SLOT_SIZE * slot;
        long iov = base + MSGHDR_SIZE;
        long at = slots.get(JAVA_LONG, iov + MsgLayouts.IOV_BASE) - sendData.address();
        int total = gso.bytes();
        long oldSpan = (total + 7) & ~7L;
        long newSpan = (total + length + 7) & ~7L;
        if (at + newSpan > sendDataSize || (dataTail - dataHead) - oldSpan + newSpan > sendDataSize) {
            return false;
        }
        MemorySegment.copy(src, offset, sendData, at + total, length);
        dataTail += newSpan - oldSpan;
        slotDataEnd[slot] = dataTail;
        int segments = gso.join(length);
        slotSegments[slot] = segments;
        slots.set(JAVA_LONG, iov + MsgLayouts.IOV_LEN, total + length);
        if (segments == 2) {
            long control = slots.get(JAVA_LONG, base + MsgLayouts.MSG_CONTROLLEN);
            control += SendControl.writeSegment(slots, base + SLOT_CONTROL + control, gso.segmentSize());
            slots.set(JAVA_LONG, base + MsgLayouts.MSG_CONTROLLEN, control);
            slotSegmentSize[slot] = gso.segmentSize();
        }
        return true;
    }

    /** What was prepared went to the kernel: no datagram joins a submitted send. */
    private void submitted() {
        if (gsoSlot >= 0) {
            gsoSlot = -1;
            gso.close();
        }
    }

    /** Claims an SQE, submitting what is queued first when the SQ is full. */
    private int sqe() {
        if (!enabled) {
            enable(); // the owner thread's first use
        }
        int sqe = ring.nextSqe();
        while (sqe < 0) {
            submitted();
            int rc = ring.submit();
            if (rc < 0 && rc != -Errno.EINTR && rc != -Errno.EBUSY) {
                throw new IllegalStateException(new NativeException("io_uring_enter(submit)", -rc));
            }
            if (rc == -Errno.EBUSY) {
                reap(); // the CQ is full: make room for the kernel's completions first
            }
            sqe = ring.nextSqe();
        }
        return sqe;
    }

    /**
     * All slots or data bytes in flight: submit, let the kernel complete, and finish the sends it did
     * (a second round for sends submitted again, tried again after an ICMP error into a full buffer).
     */
    private void makeRoom() {
        for (int round = 0; round < 2 && sendsInFlight > 0; round++) {
            unsubmittedSends = 0;
            submitted();
            int rc = ring.submitAndGetEvents();
            if (rc < 0 && rc != -Errno.EINTR && rc != -Errno.EBUSY) {
                throw new IllegalStateException(new NativeException("io_uring_enter", -rc));
            }
            reap();
            if (unsubmittedSends == 0) {
                return; // nothing was submitted again
            }
        }
    }

    private void sendDone(int slot, int res) {
        if (res < 0 && slotSegments[slot] > 1 && gso.splits(-res)) {
            readErrorQueue |= SocketErrors.isIcmpErrno(-res); // EMSGSIZE may be an ICMP report's too: read the queue
        } else if (res < 0 && SocketErrors.isIcmpErrno(-res)) {
            readErrorQueue = true; // the report's entry waits on the error queue
            res = sendAgain(slot, -res);
            if (res == -Errno.EAGAIN) {
                resend[resendCount++] = slot; // the kernel's buffer is full: through the ring
                return;
            }
        }
        long base = SLOT_SIZE * slot;
        long iov = base + MSGHDR_SIZE;
        long address = slots.get(JAVA_LONG, iov + MsgLayouts.IOV_BASE);
        int length = (int) slots.get(JAVA_LONG, iov + MsgLayouts.IOV_LEN);
        Object tag = slotTags[slot];
        slotTags[slot] = null;
        sendsInFlight--;
        slotDone[slot] = true;
        long at = address - sendData.address();
        if (slotSegments[slot] > 1) {
            segmentsDone(slot, tag, at, length, res);
        } else if (res >= 0) {
            sender.sent(tag, sendData, at, length);
        } else {
            sender.failed(tag, sendData, at, length, -res);
        }
        if (res < 0) {
            socket.failIfLost(-res, "io_uring SENDMSG"); // after its slot is done: close() waits for nothing of it
        }
        // free slots and their bytes in submission order, as far as they are done
        while (orderCount > 0 && slotDone[order[orderHead]]) {
            int s = order[orderHead];
            orderHead = (orderHead + 1) % order.length;
            orderCount--;
            dataHead = slotDataEnd[s];
            freeSlots[freeCount++] = s;
        }
        if (orderCount == 0) {
            dataHead = dataTail = 0; // nothing in flight: start again at the front
        }
    }

    /**
     * A GSO send completed: each of its datagrams is reported. Refused where GSO may be the cause
     * ({@link Gso#splits}), its datagrams leave one by one now.
     */
    private void segmentsDone(int slot, Object tag, long at, int total, int res) {
        int segment = slotSegmentSize[slot];
        if (res >= 0) {
            for (int k = 0; k < total; k += segment) {
                sender.sent(tag, sendData, at + k, Math.min(segment, total - k));
            }
            sender.coalesced(slotSegments[slot]);
        } else if (gso.splits(-res)) {
            // sent one by one at completion time: datagrams submitted after this send may have left before them
            boolean each = gso.sendEach(socket.fd(), slotHeaders[slot], sendData.address() + at, total, segment,
                    (index, offset, length, result) -> {
                        if (result >= 0) {
                            sender.sent(tag, sendData, at + offset, length);
                        } else {
                            sender.failed(tag, sendData, at + offset, length, (int) -result);
                        }
                    });
            long name = SLOT_SIZE * slot + MSGHDR_SIZE + IOVEC_SIZE;
            boolean known = failedPeer.readFrom(slots, name, slots.get(JAVA_INT, SLOT_SIZE * slot + MsgLayouts.MSG_NAMELEN));
            gso.refused(-res, each, known ? failedPeer : null, segment);
        } else {
            for (int k = 0; k < total; k += segment) {
                sender.failed(tag, sendData, at + k, Math.min(segment, total - k), -res);
            }
        }
    }

    /**
     * Sends a slot refused with an ICMP errno again, at once, with sendmsg: it was most likely
     * refused for the error an ICMP report about another peer left pending, which the refusal took.
     * At once, not through the ring: the sends submitted with it may have drawn ICMP errors of their
     * own by now (the kernel answers a closed loopback port inside the send), and a resubmission
     * would meet those. Returns the bytes sent or {@code -errno}.
     */
    private int sendAgain(int slot, int errno) {
        int res = -errno;
        for (int i = 0; i < SocketErrors.SEND_RETRIES && res < 0 && SocketErrors.isIcmpErrno(-res); i++) {
            res = (int) LibC.sendmsg(socket.fd(), slotHeaders[slot], Net.MSG_DONTWAIT);
        }
        return res;
    }

    @Override
    public int sendRoom() {
        if (freeCount == 0) {
            makeRoom();
        }
        return freeCount;
    }

    /** Nothing to do now: queued sends go out with the io_uring_enter of the next poll, which waits for nothing. */
    @Override
    public void flush() {
    }

    @Override
    public void settleSends() {
        makeRoom(); // submits and reaps: UDP sends complete inline, their results are here at once
    }

    // ---- wake-up, stop, close --------------------------------------------------------------------

    @Override
    public void wakeup() {
        wake.signal();
    }

    @Override
    public void stopReceiving() {
        receiving = false;
        if (recvArmed && enabled) {
            int sqe = sqe();
            ring.prep(sqe, IORING_OP_ASYNC_CANCEL, -1, RECV, 0, 0, 0, CANCEL);
            submitted();
            ring.submit();
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /**
     * Cancels the receive and the wake-up read and waits (bounded) for them and for every send in
     * flight to complete, so the kernel holds no pointer into memory we free; then frees it all.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (!enabled) {
            recvArmed = wakeArmed = false; // never armed: nothing of ours is in the kernel
            sendsInFlight = 0;
        }
        if (receiving) {
            stopReceiving();
        }
        if (wakeArmed) {
            int sqe = sqe();
            ring.prep(sqe, IORING_OP_ASYNC_CANCEL, -1, WAKE, 0, 0, 0, CANCEL);
        }
        long deadline = System.nanoTime() + WAIT_CLOSE_NANOS;
        while ((recvArmed || wakeArmed || sendsInFlight > 0) && System.nanoTime() < deadline) {
            submitted();
            ring.submitAndWait(1, 10_000_000L);
            reap();
            while (pendingCount > 0) {
                long kind = pendingData[pendingHead] & (0xFL << KIND_SHIFT);
                int flags = pendingFlags[pendingHead];
                if (kind == RECV && (flags & IORING_CQE_F_MORE) == 0) {
                    recvArmed = false;
                }
                if (kind == RECV && (flags & IORING_CQE_F_BUFFER) != 0) {
                    buffers.recycle(BufferRing.bufferId(flags));
                }
                if (kind == WAKE) {
                    wakeArmed = false;
                }
                pendingHead = (pendingHead + 1) % pendingData.length;
                pendingCount--;
            }
        }
        closed = true;
        wake.close();
        buffers.close();
        ring.close();
        socket.close();
        arena.close();
    }
}
