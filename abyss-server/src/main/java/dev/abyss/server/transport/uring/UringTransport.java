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
import dev.abyss.ffi.uring.RecvmsgOut;
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

import static dev.abyss.ffi.uring.IoUringConstants.IORING_CQE_F_BUFFER;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_CQE_F_MORE;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_ASYNC_CANCEL;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_READ;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_RECVMSG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_SENDMSG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_RECV_MULTISHOT;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_SQ_CQ_OVERFLOW;
import static dev.abyss.ffi.uring.IoUringConstants.IOSQE_BUFFER_SELECT;
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
 * ends the multishot receive: a pause, not an error ({@link ReceiveSink#onReceivePaused}), re-armed
 * once buffers are back; the datagrams wait in the socket meanwhile. Wake-ups from other threads
 * are writes to an eventfd that a READ keeps watched. Sends copy the datagram into a send slot
 * whose bytes come from a data ring ({@link SendSlots}).
 *
 * <p>Completions are copied out of the CQ into a {@link CompletionBacklog} before they are
 * handled, so a send that must wait for a free slot inside a handler can reap send completions
 * without re-entering the dispatch of datagrams: those wait their turn in order. The results of
 * sends completed inside {@link #send} are kept ({@link DeferredResults}) and reported at the end of
 * the turn: the sinks hear nothing inside a send.
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
public final class UringTransport extends NativeTransport {
    /** Opens IO_URING transports. */
    public static final TransportFactory FACTORY = new TransportFactory(TransportKind.IO_URING, UringTransport::open);

    private static final int KIND_SHIFT = 32;
    private static final long KIND_MASK = 0xFL << KIND_SHIFT;
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
    private static final long WAIT_CLOSE_NANOS = 1_000_000_000L;
    private static final long MAX_WAIT_WITH_SENDS_NANOS = 100_000_000L;
    /**
     * Wait policy: how many completions one io_uring_enter waits for. "sends" (the default) waits
     * for the sends it submits plus one more event, so a turn with replies still blocks until the
     * next datagram or wake-up in the same syscall; "one" waits for any completion.
     */
    private static final boolean WAIT_FOR_SENDS = !"one".equals(System.getProperty("abyss.uring.wait", "sends"));

    private final IoUring ring;
    private final BufferRing buffers;
    private final int bufferSize;
    private final int maxDatagramSize;
    private final int payloadOffset;
    private final int controlSpace;
    /** The send slot a GSO send is open in (prepared, not yet submitted), -1 for none. */
    private int gsoSlot = -1;
    private final MemorySegment recvMsghdr;
    private final MemorySegment wakeBuffer;
    private final IoUring.CompletionHandler onCqe = this::onCompletion; // one instance: reaping allocates nothing
    /** A completion failed with an ICMP errno, or the last drain stopped at its bound: read the error queue. */
    private boolean readErrorQueue;
    /** The CQ ring's overflow counter (CQEs lost) as last reported. */
    private int cqOverflowSeen;

    private final SendSlots slots;
    /** Slots to submit again: tried again at once after an ICMP errno, the kernel's buffer was full (a stack). */
    private final int[] resend;
    private int resendCount;
    /** Completions reaped, not handled yet: receives and wake-ups, in order. */
    private final CompletionBacklog backlog;
    /**
     * Where send results go now: {@link #deferred}, except at a reporting point ({@link #poll},
     * {@link #settleSends}, {@link #close}), where completions reaped go to the engine's sink at
     * once; a {@link #send} made inside one (a handler's, during a poll) defers again for its
     * duration. So no other entry (send, sendRoom, stopReceiving) can report.
     */
    private SendSink results;

    private boolean enabled;
    private boolean receiving = true;
    private boolean recvArmed;
    private boolean wakeArmed;
    private boolean buffersToPublish;
    /** Sends queued since the last enter. */
    private int unsubmittedSends;
    private int sendsInFlight;

    private UringTransport(NativeSocket io, IoUring ring, BufferRing buffers, TransportSettings settings,
                           ReceiveSink receiver, SendSink sender, int sendSlots, long sendDataSize) {
        super(io, buffers.entries(), receiver, sender);
        this.ring = ring;
        this.buffers = buffers;
        this.results = deferred;
        this.bufferSize = buffers.bufferSize();
        this.maxDatagramSize = settings.maxDatagramSize();
        this.controlSpace = io.socket().controlSpace(CONTROL_SPACE);
        this.payloadOffset = (int) RecvmsgOut.payloadOffset(NAME_SPACE, controlSpace);
        this.recvMsghdr = io.arena().allocate(MsgLayouts.MSGHDR);
        recvMsghdr.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, NAME_SPACE);
        recvMsghdr.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, controlSpace);
        this.wakeBuffer = io.arena().allocate(JAVA_LONG);
        this.slots = new SendSlots(io.arena(), sendSlots, sendDataSize);
        this.resend = new int[sendSlots];
        this.backlog = new CompletionBacklog(ring.cqEntries());
    }

    static UringTransport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                               ReceiveSink receiver, SendSink sender) throws NativeException {
        int batch = settings.receiveBatchSize();
        int bufferCount = Math.min(Integer.highestOneBit(Math.max(64, 2 * batch) - 1) << 1, 32768);
        int sendSlots = Math.max(64, 4 * batch);
        long sendDataSize = Math.max(1L << 20, (long) batch * 65_536);
        // rounded up to a cache line: each buffer starts aligned, so the peer address reads aligned
        // (room for CONTROL_SPACE whatever the family: an AF_UNIX socket leaves it unused)
        int bufferSize = ((int) RecvmsgOut.payloadOffset(NAME_SPACE, CONTROL_SPACE) + settings.maxDatagramSize() + 63) & ~63;
        int cqEntries = Integer.highestOneBit(4 * (bufferCount + sendSlots) - 1) << 1;
        // blocking socket: io_uring polls it itself; O_NONBLOCK would hand EAGAIN back to us
        return NativeSocket.open(settings, address, reusePort, probeFirst, false, io -> {
            IoUring ring = io.own(UringSetup.ring(sendSlots + 16, cqEntries, true));
            BufferRing buffers = io.own(BufferRing.register(ring, BUFFER_GROUP, bufferCount, bufferSize));
            return new UringTransport(io, ring, buffers, settings, receiver, sender, sendSlots, sendDataSize);
        });
    }

    /** Null when this kernel and process can run the transport, else why not (checked once). */
    public static String unavailableReason() {
        return UringSetup.unavailableReason();
    }

    // ---- the turn ------------------------------------------------------------------------------

    @Override
    public int poll(long timeoutNanos) {
        int work;
        reportingPoint();
        try {
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
            if (timeoutNanos == 0 || readErrorQueue || !backlog.isEmpty() || ring.completionsReady() > 0) {
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
            work = handleCompletions();
            if ((ring.sqFlags() & IORING_SQ_CQ_OVERFLOW) != 0) {
                // completions the CQ had no room for wait in the kernel (NODROP): nothing lost, a pause; fetch them now
                receiver.onReceivePaused();
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
        } finally {
            results = deferred;
        }
        deferred.report(); // what the handlers' sends completed on the way
        return work;
    }

    /**
     * Enters a reporting point: the results kept so far are reported, and until {@link #results}
     * is set back to {@link #deferred} what completes goes to the engine's sink at once.
     */
    private void reportingPoint() {
        deferred.report();
        results = sender;
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
        while (!backlog.isEmpty()) {
            long kind = backlog.userData() & KIND_MASK;
            int res = backlog.res();
            int flags = backlog.flags();
            backlog.remove();
            if (kind == RECV) {
                if (!batch && res >= 0) {
                    receiver.beginBatch();
                    batch = true;
                }
                work += onReceive(res, flags);
            } else if (kind == WAKE) {
                wakeArmed = false;
                io.wake().consumed();
                work++;
            }
            // CANCEL results need nothing: the cancelled receive reports itself
        }
        return work;
    }

    /**
     * Moves ready CQEs into the backlog; send completions are finished here, and sends that could
     * not be tried again at once submitted again. Returns sends finished.
     */
    private int reap() {
        int before = sendsInFlight;
        ring.forEachCompletion(onCqe);
        while (resendCount > 0) {
            int slot = resend[--resendCount];
            int sqe = sqe(); // may reap again: the stack is consistent here
            ring.prep(sqe, IORING_OP_SENDMSG, fd, slots.msghdrAddress(slot), 1, 0, 0, SEND | slot);
            unsubmittedSends++;
        }
        return before - sendsInFlight;
    }

    private void onCompletion(long userData, int res, int flags) {
        if ((userData & KIND_MASK) == SEND) {
            sendDone((int) userData, res);
        } else {
            backlog.add(userData, res, flags);
        }
    }

    // ---- receive -------------------------------------------------------------------------------

    private void armReceive() {
        int sqe = sqe();
        ring.prep(sqe, IORING_OP_RECVMSG, fd, recvMsghdr.address(), 1, 0, 0, RECV);
        ring.ioprio(sqe, IORING_RECV_MULTISHOT);
        ring.sqeFlags(sqe, IOSQE_BUFFER_SELECT);
        ring.bufferGroup(sqe, BUFFER_GROUP);
        recvArmed = true;
    }

    private void armWake() {
        int sqe = sqe();
        ring.prep(sqe, IORING_OP_READ, io.wake().fd(), wakeBuffer.address(), 8, 0, 0, WAKE);
        wakeArmed = true;
    }

    /** One receive completion: a datagram in a provided buffer, or why the multishot receive ended. */
    private int onReceive(int res, int flags) {
        if ((flags & IORING_CQE_F_MORE) == 0) {
            recvArmed = false; // ended (error, ENOBUFS, cancel): armed again before the next wait
        }
        if (res < 0) {
            io.socket().failIfLost(-res, "io_uring RECVMSG");
            if (res == -Errno.ENOBUFS) {
                receiver.onReceivePaused(); // every buffer in use: nothing lost, re-armed once they are back
            } else if (SocketErrors.isIcmpErrno(-res)) {
                drainErrors(); // an ICMP error about a peer ended the receive: its entry waits on the error queue
            } else if (res != -Errno.ECANCELED && res != -Errno.EINTR) {
                receiver.onReceiveError(-res);
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
            received.read(all, at + CONTROL_OFFSET, Math.min(control, controlSpace), truncated);
            // completed before stopReceiving's cancel took effect: the kernel handed it over, so it is
            // delivered (dropping it would lose it; a handoff's successor can no longer read it)
            int nameLength = RecvmsgOut.nameLength(all, at);
            if (nameLength > NAME_SPACE || !peer.readFrom(all, at + RecvmsgOut.nameOffset(), nameLength)) {
                return 0; // unreadable sender address: cannot answer or key it
            }
            // the buffer is rounded up past maxDatagramSize: the cut is ours to make, as recvmmsg's would be
            int length = Math.max(0, Math.min(Math.min(payload, res - payloadOffset), maxDatagramSize));
            return deliver(all, bid, at + payloadOffset, length);
        } finally {
            buffers.recycle(bid);
            buffersToPublish = true;
        }
    }

    /** Reads the socket's error queue into the sink (bounded: the rest next turn). */
    private int drainErrors() {
        int n = errors.drain(fd);
        readErrorQueue |= errors.more();
        return n;
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
        SendSink outer = results;
        results = deferred; // completions reaped to make room are reported at the end of the turn
        try {
            return queue(tag, to, from, trafficClass, src, offset, length);
        } finally {
            results = outer;
        }
    }

    private boolean queue(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length) {
        if (gsoSlot >= 0 && gso.joins(tag, to, from, trafficClass, length) && join(gsoSlot, src, offset, length)) {
            return true;
        }
        if (!slots.fits(length)) {
            makeRoom();
            if (!slots.fits(length)) {
                return false;
            }
        }
        int slot = slots.claim(tag, length);
        MemorySegment.copy(src, offset, slots.data(), slots.dataOffset(slot), length);
        slots.name(slot, to);
        slots.controlLength(slot, from == null && trafficClass < 0 ? 0
                : sendControl.write(to, from, trafficClass, slots.memory(), slots.controlOffset(slot)));
        int sqe = sqe(); // may submit what is queued: the slot is then no longer open to GSO
        ring.prep(sqe, IORING_OP_SENDMSG, fd, slots.msghdrAddress(slot), 1, 0, 0, SEND | slot);
        sendsInFlight++;
        unsubmittedSends++;
        gso.start(tag, to, from, trafficClass, length);
        gsoSlot = gso.on() ? slot : -1;
        return true;
    }

    /**
     * Appends a datagram to the GSO send prepared in {@code slot} and not yet submitted (the kernel
     * reads its msghdr at submission). False when its bytes do not fit the data ring.
     */
    private boolean join(int slot, MemorySegment src, long offset, int length) {
        long at = slots.extend(slot, length);
        if (at < 0) {
            return false;
        }
        MemorySegment.copy(src, offset, slots.data(), at, length);
        int segments = gso.join(length);
        if (segments == 2) {
            long control = slots.controlLength(slot);
            control += SendControl.writeSegment(slots.memory(), slots.controlOffset(slot) + control, gso.segmentSize());
            slots.controlLength(slot, control);
        }
        slots.segments(slot, segments, gso.segmentSize());
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

    /** A send completed with {@code res}: its results go to {@link #results}, its slot is released. */
    private void sendDone(int slot, int res) {
        if (res < 0 && slots.segments(slot) > 1 && gso.splits(-res)) {
            readErrorQueue |= SocketErrors.isIcmpErrno(-res); // EMSGSIZE may be an ICMP report's too: read the queue
        } else if (res < 0 && SocketErrors.isIcmpErrno(-res)) {
            readErrorQueue = true; // the report's entry waits on the error queue
            res = sendAgain(slot, -res);
            if (res == -Errno.EAGAIN) {
                resend[resendCount++] = slot; // the kernel's buffer is full: through the ring
                return;
            }
        }
        Object tag = slots.tag(slot);
        long at = slots.dataOffset(slot);
        int length = slots.length(slot);
        sendsInFlight--;
        if (slots.segments(slot) > 1) {
            if (res >= 0) {
                Gso.reportSent(results, tag, slots.data(), at, length, slots.segmentSize(slot), slots.segments(slot));
            } else {
                // sent one by one at completion time: datagrams submitted after this send may have left before them
                gso.reportRefused(results, fd, slots.header(slot), slots.memory(), slots.nameOffset(slot), tag, slots.data(),
                        at, length, slots.segmentSize(slot), -res);
            }
        } else if (res >= 0) {
            results.sent(tag, slots.data(), at, length);
        } else {
            results.failed(tag, slots.data(), at, length, -res);
        }
        slots.release(slot); // after its results: they were read from its bytes
        if (res < 0) {
            io.socket().failIfLost(-res, "io_uring SENDMSG"); // after its slot is released: close() waits for nothing of it
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
            res = (int) LibC.sendmsg(fd, slots.header(slot), Net.MSG_DONTWAIT);
        }
        return res;
    }

    /** Free send slots; with none, waits for the kernel to complete sends (their results kept for the next report). */
    @Override
    public int sendRoom() {
        if (slots.free() == 0) {
            SendSink outer = results;
            results = deferred;
            try {
                makeRoom();
            } finally {
                results = outer;
            }
        }
        return slots.free();
    }

    /** Reports the results kept inside sends; queued sends go out with the io_uring_enter of the next poll, which waits for nothing. */
    @Override
    public void flush() {
        deferred.report();
    }

    @Override
    public void settleSends() {
        reportingPoint();
        try {
            makeRoom(); // submits and reaps: UDP sends complete inline, their results are here at once
        } finally {
            results = deferred;
        }
    }

    // ---- wake-up, stop, close --------------------------------------------------------------------

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

    /**
     * Cancels the receive and the wake-up read and waits (bounded) for them and for every send in
     * flight to complete, reporting the sends' results, so the kernel holds no pointer into memory
     * that {@link #close()} frees next.
     */
    @Override
    protected void windDown() {
        reportingPoint();
        try {
            cancelAndWait();
        } finally {
            results = deferred;
        }
    }

    private void cancelAndWait() {
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
            while (!backlog.isEmpty()) {
                long kind = backlog.userData() & KIND_MASK;
                int flags = backlog.flags();
                backlog.remove();
                if (kind == RECV && (flags & IORING_CQE_F_MORE) == 0) {
                    recvArmed = false;
                }
                if (kind == RECV && (flags & IORING_CQE_F_BUFFER) != 0) {
                    buffers.recycle(BufferRing.bufferId(flags));
                }
                if (kind == WAKE) {
                    wakeArmed = false;
                }
            }
        }
    }
}
