package dev.abyss.server.transport.nio;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.DatagramFacts;
import dev.abyss.server.transport.DeferredResults;
import dev.abyss.server.transport.ReceiveBuffer;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import dev.abyss.server.transport.ViewCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * The NIO transport: a non-blocking {@link DatagramChannel} and one {@link Selector} per acceptor,
 * with preallocated off-heap buffers (one receive buffer, a ring of 64 KiB send slots). It is the
 * portable fallback: it makes no native call of its own and needs no native access, so it works
 * where the JVM denies it ({@code --illegal-native-access=deny}) or abyss-ffi's bindings cannot load.
 *
 * <p>Each {@link #poll} sends what is queued, selects (the {@link #wakeup()} of another thread is
 * {@link Selector#wakeup()}), then receives up to {@code receiveBatchSize} datagrams, one
 * {@code receive} call each. A send the kernel cannot take now ({@code send} returned 0: its buffer
 * is full) stays queued with the rest behind it, and the channel is watched for OP_WRITE. A send
 * that finds the ring full hands it to the kernel first, and keeps the results
 * ({@link DeferredResults}) for the next {@link #flush()}: the sinks hear nothing inside {@link #send}.
 *
 * <p>What NIO cannot do, compared with EPOLL and IO_URING (besides what the list below says, it
 * cannot read a datagram's destination address or choose a reply's source: on a wildcard bind the
 * kernel's route picks it):
 * <ul>
 *   <li><b>No AF_UNIX:</b> the JDK has no AF_UNIX datagram channel; opening one on a unix path fails.</li>
 *   <li><b>No IPV6_V6ONLY:</b> NIO has no public option for it. The channel is opened with the bind
 *       address's family, so an IPv4 address gets an IPv4 socket; but a {@code [::]} bind is dual-stack
 *       or not as the operating system's default says (Linux: {@code net.ipv6.bindv6only}, normally 0,
 *       so dual-stack), whatever {@code ipv6Only} asks; a warning is logged when it asks for v6-only.
 *       An IPv4 peer of a dual-stack socket is keyed as {@code ::ffff:a.b.c.d}, as the kernel reports it.</li>
 *   <li><b>Truncation is inferred, not reported:</b> {@code DatagramChannel.receive} silently discards
 *       the part of a datagram that does not fit the buffer, and the JDK exposes no MSG_TRUNC. The
 *       receive buffer therefore holds {@code max(maxDatagramSize, 65,536) + 1} bytes, more than any UDP
 *       payload over IPv4 or IPv6 (65,527 bytes): a datagram longer than {@code maxDatagramSize} is
 *       received whole, cut here and flagged truncated, so the engine's truncation policy applies as on
 *       the native transports. Only a datagram that fills the whole buffer (an IPv6 jumbogram) was cut
 *       by the JDK; it is flagged truncated too, but its real length is unknown.</li>
 *   <li><b>A zero-length send is assumed taken:</b> {@code send} returns 0 both for an empty datagram
 *       the kernel took and for one it refused with EAGAIN; an empty datagram is reported sent.</li>
 *   <li><b>Errors have no errno:</b> the JDK throws exceptions carrying the C library's text; the errno
 *       given to {@link SendSink#failed} and {@link ReceiveSink#onReceiveError} is mapped back from it
 *       (EIO when unrecognised).</li>
 *   <li><b>SO_REUSEPORT only where the JDK offers it</b> (Linux, macOS): elsewhere several acceptors
 *       cannot share a port and the second bind fails, saying so.</li>
 *   <li>One system call per datagram (no recvmmsg/sendmmsg), and the JDK allocates a socket address for
 *       each change of sender: slower than the native transports.</li>
 *   <li><b>No kernel drop count:</b> the JDK offers no SO_RXQ_OVFL and no control messages, so
 *       datagrams the kernel drops because the socket's receive buffer is full are not seen:
 *       {@link ReceiveSink#onKernelDrops} is never called and {@code kernelDrops} stays 0 (the
 *       system's counters still show them: the {@code drops} column of {@code /proc/net/udp}).</li>
 *   <li><b>No ICMP errors:</b> no IP_RECVERR and no error queue, so a peer whose port is closed
 *       ({@code ICMP port unreachable}) is not reported ({@link ReceiveSink#onUnreachable} is never
 *       called, {@code unreachable} stays 0) and its session lasts until its read timeout. On an
 *       unconnected socket Linux does not even fail a later send for it.</li>
 *   <li><b>The default receive buffer is capped by net.core.rmem_max:</b> the JDK has no
 *       SO_RCVBUFFORCE.</li>
 * </ul>
 *
 * <p>Owner thread only, except {@link #wakeup()}, {@link #isClosed()} and {@link #localAddress()}.
 */
public final class NioTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(NioTransport.class);

    /** Opens NIO transports. */
    public static final TransportFactory FACTORY = new TransportFactory(TransportKind.NIO, NioTransport::open);

    /** Bytes per send slot: any UDP payload fits. */
    static final int SEND_SLOT = 65_536;
    /** The receive buffer holds at least this plus one byte: more than any UDP payload (65,527). */
    static final int MIN_RECEIVE = 65_536;
    /** How long {@link #close()} waits for a full kernel buffer to take the queued sends. */
    static final long CLOSE_FLUSH_NANOS = 200_000_000L;
    private static final int VIEW_WAYS = 16; // distinct lengths remembered (a power of two)
    private static final int DEST_WAYS = 256; // destinations remembered (a power of two)

    // where a v4-mapped sockaddr_in6 is written (the layout abyss-ffi's PeerKey reads)
    private static final long IN6_FAMILY = SockAddr.SOCKADDR_IN6.byteOffset(groupElement("sin6_family"));
    private static final long IN6_PORT = SockAddr.SOCKADDR_IN6.byteOffset(groupElement("sin6_port"));
    private static final long IN6_FLOWINFO = SockAddr.SOCKADDR_IN6.byteOffset(groupElement("sin6_flowinfo"));
    private static final long IN6_ADDR = SockAddr.SOCKADDR_IN6.byteOffset(groupElement("sin6_addr"));
    private static final long IN6_SCOPE_ID = SockAddr.SOCKADDR_IN6.byteOffset(groupElement("sin6_scope_id"));
    private static final int IN6_SIZE = (int) SockAddr.SOCKADDR_IN6.byteSize();
    private static final ValueLayout.OfShort NET_SHORT = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final AtomicBoolean V6ONLY_WARNED = new AtomicBoolean();

    /** The one call that hands a datagram to the kernel: a seam so tests can play a full kernel buffer. */
    @FunctionalInterface
    interface DatagramOut {
        int send(DatagramChannel channel, ByteBuffer src, SocketAddress to) throws IOException;
    }

    private final Arena arena;
    private final DatagramChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final SocketAddress local;
    /** An IPv6 channel: IPv4 peers are keyed as ::ffff:a.b.c.d, as the kernel reports them. */
    private final boolean mapV4;
    private final ReceiveSink receiver;
    private final SendSink sender;
    /** Results of sends finished inside send() or sendRoom(): reported by the next flush. */
    private final DeferredResults deferred;
    private final int maxDatagram;
    private final int receiveBatch;
    /** The channel's options and memberships (any thread). */
    private NioOptions options;

    private final MemorySegment inData;
    private final ByteBuffer inBuffer;
    /** Read-only views of the receive buffer, reused per length so a steady stream allocates nothing. */
    private final ViewCache views = new ViewCache(1, VIEW_WAYS);
    private final PeerKey peer = new PeerKey();
    /** The key of {@link #lastFrom}: the JDK returns the same address object while the sender stays the same. */
    private final PeerKey lastPeer = new PeerKey();
    private SocketAddress lastFrom;
    private final MemorySegment sockaddr = MemorySegment.ofArray(new long[SockAddr.STORAGE_SIZE / 8]);

    // the send ring: slot i holds outLength[i] bytes at i * SEND_SLOT for outTo[i]
    private final MemorySegment outData;
    private final ByteBuffer[] outBuffers;
    private final Object[] outTags;
    private final SocketAddress[] outTo;
    private final int[] outLength;
    private int head;
    private int queued;
    /** Java addresses of recent destinations: a steady reply stream converts each PeerKey once. */
    private final PeerKey[] destKeys = new PeerKey[DEST_WAYS];
    private final SocketAddress[] destAddresses = new SocketAddress[DEST_WAYS];
    private DatagramOut out = DatagramChannel::send;

    private int readyOps;
    private final Consumer<SelectionKey> onReady = k -> readyOps |= k.readyOps();
    /** Set by {@link #wakeup()} before it wakes the selector, cleared by the poll that counts it. */
    private final AtomicBoolean woken = new AtomicBoolean();
    private boolean receiving = true;
    private boolean watchingOut;
    /** Sends finished (taken or refused by the kernel) since this transport opened. */
    private int completed;
    private volatile boolean closed;

    private NioTransport(Arena arena, DatagramChannel channel, Selector selector, TransportSettings settings,
                         ReceiveSink receiver, SendSink sender) throws IOException {
        this.arena = arena;
        this.channel = channel;
        this.selector = selector;
        this.receiver = receiver;
        this.sender = sender;
        this.deferred = new DeferredResults(sender);
        this.local = channel.getLocalAddress();
        this.mapV4 = local instanceof InetSocketAddress inet && inet.getAddress() instanceof Inet6Address;
        this.maxDatagram = settings.maxDatagramSize();
        this.receiveBatch = settings.receiveBatchSize();
        this.inData = arena.allocate(Math.max(maxDatagram, MIN_RECEIVE) + 1L, 64);
        this.inBuffer = inData.asByteBuffer();
        int slots = settings.receiveBatchSize();
        this.outData = arena.allocate((long) slots * SEND_SLOT, 64);
        this.outBuffers = new ByteBuffer[slots];
        for (int i = 0; i < slots; i++) {
            outBuffers[i] = outData.asSlice((long) i * SEND_SLOT, SEND_SLOT).asByteBuffer();
        }
        this.outTags = new Object[slots];
        this.outTo = new SocketAddress[slots];
        this.outLength = new int[slots];
        this.key = channel.register(selector, SelectionKey.OP_READ);
    }

    /** Null when this transport works here, else why not: NIO works wherever the JDK runs. */
    public static String unavailableReason() {
        return null;
    }

    static NioTransport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                             ReceiveSink receiver, SendSink sender) throws IOException {
        if (address instanceof UnixDomainSocketAddress) {
            throw new IOException("transport NIO cannot bind the AF_UNIX address " + address
                    + ": the JDK has no AF_UNIX datagram channel; use transport EPOLL or IO_URING for a unix path");
        }
        if (!(address instanceof InetSocketAddress inet)) {
            throw new IllegalArgumentException("unsupported socket address type: " + address.getClass().getName());
        }
        if (inet.isUnresolved()) {
            throw new IllegalArgumentException("unresolved address: " + inet);
        }
        if (settings.listen().netns() != null) {
            throw new IOException("netns " + settings.listen().netns() + ": transport NIO cannot open its socket in another"
                    + " network namespace (it makes no native call); use transport EPOLL or IO_URING");
        }
        ProtocolFamily family = inet.getAddress() instanceof Inet6Address
                ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
        if (probeFirst) {
            inet = probe(family, inet);
        }
        if (settings.ipv6Only() && family == StandardProtocolFamily.INET6 && inet.getAddress().isAnyLocalAddress()
                && !V6ONLY_WARNED.getAndSet(true)) { // once per JVM, not once per acceptor
            LOG.warn("transport NIO cannot set IPV6_V6ONLY: {} is dual-stack or not as the system default says", inet);
        }
        DatagramChannel ch = DatagramChannel.open(family);
        Selector sel = null;
        Arena arena = Arena.ofShared();
        try {
            ch.configureBlocking(false);
            if (settings.reuseAddress()) {
                ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            }
            boolean shared = reusePort && ch.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT);
            if (shared) {
                ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            }
            if (settings.receiveBufferSize() > 0) {
                ch.setOption(StandardSocketOptions.SO_RCVBUF, settings.receiveBufferSize());
            } else {
                defaultReceiveBuffer(ch);
            }
            if (settings.sendBufferSize() > 0) {
                ch.setOption(StandardSocketOptions.SO_SNDBUF, settings.sendBufferSize());
            }
            NioOptions options = new NioOptions(ch);
            for (java.util.Map.Entry<dev.abyss.server.UdpOption<?>, Object> o : settings.listen().options().entrySet()) {
                @SuppressWarnings("unchecked") dev.abyss.server.UdpOption<Object> key = (dev.abyss.server.UdpOption<Object>) o.getKey();
                options.set(key, o.getValue()); // what NIO has not is refused, naming it (AUTO landing on NIO)
            }
            bind(ch, inet, reusePort && !shared);
            for (dev.abyss.server.MulticastGroup g : settings.listen().groups()) {
                options.membership(g, true);
            }
            sel = Selector.open();
            NioTransport t = new NioTransport(arena, ch, sel, settings, receiver, sender);
            t.options = options;
            return t;
        } catch (IOException | RuntimeException | Error e) {
            closeQuietly(sel);
            closeQuietly(ch);
            arena.close();
            throw e;
        }
    }

    /**
     * SO_REUSEPORT would let us bind next to another process's socket on the same port and split its
     * traffic. A bind with no sharing options first proves the port is free and, for port 0, picks
     * the port every acceptor then shares.
     */
    private static InetSocketAddress probe(ProtocolFamily family, InetSocketAddress address) throws IOException {
        try (DatagramChannel p = DatagramChannel.open(family)) {
            bind(p, address, false);
            return (InetSocketAddress) p.getLocalAddress();
        }
    }

    /**
     * {@link ReceiveBuffer#DEFAULT} unless the socket already has as much; plain SO_RCVBUF (the JDK has
     * no SO_RCVBUFFORCE), so on Linux net.core.rmem_max caps it, reported once. (On Linux the JDK's
     * getOption reports what was granted, half of what the kernel's getsockopt says.)
     */
    private static void defaultReceiveBuffer(DatagramChannel ch) {
        try {
            if (ch.getOption(StandardSocketOptions.SO_RCVBUF) >= ReceiveBuffer.DEFAULT) {
                return;
            }
            ch.setOption(StandardSocketOptions.SO_RCVBUF, ReceiveBuffer.DEFAULT);
            ReceiveBuffer.reportGranted(ReceiveBuffer.DEFAULT, ch.getOption(StandardSocketOptions.SO_RCVBUF));
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("default receive buffer not set: {}", e.toString()); // the system's default stays
        }
    }

    private static void bind(DatagramChannel ch, InetSocketAddress address, boolean reusePortMissing) throws IOException {
        try {
            ch.bind(address);
        } catch (BindException e) {
            // the JDK's message is only strerror: say which address, and why sharing it failed
            BindException b = new BindException("bind " + address + ": " + e.getMessage() + (reusePortMissing
                    ? " (this JDK has no SO_REUSEPORT here, so acceptors cannot share a port: use numAcceptors(1))" : ""));
            b.initCause(e);
            throw b;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // closing on a failure path or at the end: nothing more to do
        }
    }

    /** Tests: replaces the call that hands a datagram to the kernel. */
    void sendVia(DatagramOut out) {
        this.out = out;
    }

    @Override
    public SocketAddress localAddress() {
        return local;
    }

    @Override
    public int poll(long timeoutNanos) {
        if (closed) {
            return 0;
        }
        flush();
        readyOps = 0;
        select(timeoutNanos);
        int work = 0;
        if (woken.get() && woken.getAndSet(false)) {
            work++; // consumed here, after the select: a later wakeup() wakes the next one
        }
        if ((readyOps & SelectionKey.OP_WRITE) != 0 && queued > 0) {
            int before = completed;
            flush(); // writable again
            work += completed - before;
        }
        if ((readyOps & SelectionKey.OP_READ) != 0 && receiving) {
            work += receiveBatch();
            if (queued > 0) {
                flush(); // the replies of this batch go out now
            }
        }
        return work;
    }

    private void select(long timeoutNanos) {
        // an interrupt status makes every select return at once: set it aside for the wait and keep it
        boolean interrupted = Thread.interrupted();
        try {
            if (timeoutNanos == 0) {
                selector.selectNow(onReady);
            } else if (timeoutNanos < 0) {
                selector.select(onReady);
            } else {
                long millis = (Math.min(timeoutNanos, Long.MAX_VALUE - 999_999) + 999_999) / 1_000_000;
                selector.select(onReady, millis); // >= 1: 0 would mean forever
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Receives up to a batch into the sink; returns the datagrams delivered. */
    private int receiveBatch() {
        int delivered = 0;
        boolean begun = false;
        for (int i = 0; i < receiveBatch && receiving; i++) {
            inBuffer.clear();
            SocketAddress from;
            try {
                from = channel.receive(inBuffer);
            } catch (IOException e) {
                receiver.onReceiveError(NioErrno.of(e));
                break;
            }
            if (from == null) {
                break; // nothing more now
            }
            if (!keyOf(from)) {
                continue; // not an IP sender: cannot answer or key it
            }
            if (!begun) {
                receiver.beginBatch();
                begun = true;
            }
            int length = inBuffer.position();
            // the buffer is larger than any UDP payload: a longer datagram is seen whole, then cut here
            int cut = Math.min(length, maxDatagram);
            receiver.onDatagram(peer, views.view(inData, 0, cut, 0, cut), DatagramFacts.of(length > maxDatagram));
            delivered++;
        }
        return delivered;
    }

    /** Sets {@link #peer} to {@code from}; false when it cannot be keyed. */
    private boolean keyOf(SocketAddress from) {
        if (from != lastFrom) {
            if (!(from instanceof InetSocketAddress inet) || inet.getAddress() == null) {
                return false;
            }
            int length;
            if (mapV4 && inet.getAddress() instanceof Inet4Address v4) {
                length = writeV4Mapped(v4, inet.getPort());
            } else {
                length = SockAddr.write(inet, sockaddr);
            }
            if (!lastPeer.readFrom(sockaddr, length)) {
                lastFrom = null;
                return false;
            }
            lastFrom = from;
        }
        peer.copyFrom(lastPeer); // the sink got the previous one: never trust it unchanged
        return true;
    }

    /** The JDK reports an IPv4 peer of an IPv6 socket as IPv4; the kernel (and the native transports) as ::ffff:a.b.c.d. */
    private int writeV4Mapped(Inet4Address v4, int port) {
        MemorySegment s = sockaddr;
        s.asSlice(0, IN6_SIZE).fill((byte) 0);
        s.set(ValueLayout.JAVA_SHORT, IN6_FAMILY, (short) Net.AF_INET6);
        s.set(NET_SHORT, IN6_PORT, (short) port);
        s.set(ValueLayout.JAVA_INT, IN6_FLOWINFO, 0);
        s.set(ValueLayout.JAVA_BYTE, IN6_ADDR + 10, (byte) 0xFF);
        s.set(ValueLayout.JAVA_BYTE, IN6_ADDR + 11, (byte) 0xFF);
        MemorySegment.copy(v4.getAddress(), 0, s, ValueLayout.JAVA_BYTE, IN6_ADDR + 12, 4);
        s.set(ValueLayout.JAVA_INT, IN6_SCOPE_ID, 0);
        return IN6_SIZE;
    }

    /** The source address and traffic class are the kernel's: a DatagramChannel cannot set them per datagram. */
    @Override
    public boolean send(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length) {
        if (closed) {
            return false;
        }
        if (length > SEND_SLOT) {
            deferred.failed(tag, src, offset, length, Errno.EMSGSIZE); // larger than UDP allows: never fits
            return true;
        }
        if (sendRoom() == 0) {
            return false; // the kernel's buffer and ours are both full
        }
        int i = head + queued;
        if (i >= outTags.length) {
            i -= outTags.length;
        }
        MemorySegment.copy(src, offset, outData, (long) i * SEND_SLOT, length);
        outTags[i] = tag;
        outTo[i] = destination(to);
        outLength[i] = length;
        queued++;
        return true;
    }

    /** {@code to} as a Java address, converted once per destination while it stays in the cache. */
    private SocketAddress destination(PeerKey to) {
        int k = to.hashCode() & (DEST_WAYS - 1);
        PeerKey known = destKeys[k];
        if (known != null && known.equals(to)) {
            return destAddresses[k];
        }
        SocketAddress a = to.toSocketAddress();
        if (known == null) {
            destKeys[k] = to.copy();
        } else {
            known.copyFrom(to);
        }
        destAddresses[k] = a;
        return a;
    }

    /** Room in the send ring; a full one is handed to the kernel first, its results kept for the next flush. */
    @Override
    public int sendRoom() {
        if (queued == outTags.length) {
            handOver(deferred);
        }
        return outTags.length - queued;
    }

    /** Reports the results kept since the last flush, then hands the queued sends to the kernel and reports theirs. */
    @Override
    public void flush() {
        deferred.report();
        handOver(sender);
    }

    /**
     * Hands the queued sends to the kernel until it takes no more, telling {@code to} their results:
     * the engine's sink at a reporting point, {@link #deferred} inside a send.
     */
    private void handOver(SendSink to) {
        while (queued > 0) {
            int i = head;
            int length = outLength[i];
            ByteBuffer b = outBuffers[i];
            b.clear().limit(length);
            int n;
            IOException ioFailure = null;
            RuntimeException argFailure = null;
            try {
                n = out.send(channel, b, outTo[i]);
            } catch (IOException e) {
                n = -1;
                ioFailure = e;
            } catch (IllegalArgumentException | SecurityException e) { // e.g. an IPv6 destination on an IPv4 channel
                n = -1;
                argFailure = e;
            }
            if (n == 0 && length > 0) {
                watchWritable(true);
                return; // the kernel's buffer is full: the rest stays queued until OP_WRITE
            }
            Object tag = takeHead();
            if (n < 0) {
                to.failed(tag, outData, (long) i * SEND_SLOT, length, NioErrno.of(ioFailure != null ? ioFailure : argFailure));
            } else {
                to.sent(tag, outData, (long) i * SEND_SLOT, length);
            }
        }
        head = 0;
        if (watchingOut) {
            watchWritable(false);
        }
    }

    /** Takes the oldest queued send off the ring (its bytes stay in its slot until the next send); returns its tag. */
    private Object takeHead() {
        int i = head;
        Object tag = outTags[i];
        outTags[i] = null;
        outTo[i] = null;
        head = i + 1 == outTags.length ? 0 : i + 1;
        queued--;
        completed++;
        return tag;
    }

    private void watchWritable(boolean on) {
        if (watchingOut == on || !key.isValid()) {
            return;
        }
        key.interestOps((receiving ? SelectionKey.OP_READ : 0) | (on ? SelectionKey.OP_WRITE : 0));
        watchingOut = on;
    }

    @Override
    public void wakeup() {
        // one selector wakeup (a system call) per poll is enough: later ones find the flag already set
        if (!woken.get() && !woken.getAndSet(true) && !closed) {
            selector.wakeup();
        }
    }

    @Override
    public void stopReceiving() {
        receiving = false;
        if (key.isValid()) {
            key.interestOps(watchingOut ? SelectionKey.OP_WRITE : 0);
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public dev.abyss.server.transport.SocketControl control() {
        return options;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            flushBeforeClose();
        } finally {
            closed = true;
            closeQuietly(selector); // first: a registered channel's socket would close only at the next select
            closeQuietly(channel);
            arena.close();
        }
    }

    /**
     * Gives a full kernel buffer up to {@link #CLOSE_FLUSH_NANOS} to take what is queued; what it
     * still refuses is reported failed with EAGAIN, not dropped silently.
     */
    private void flushBeforeClose() {
        stopReceiving(); // the wait below is for OP_WRITE only
        flush();
        long deadline = System.nanoTime() + CLOSE_FLUSH_NANOS;
        while (queued > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            select(left);
            flush();
        }
        while (queued > 0) {
            int i = head;
            sender.failed(takeHead(), outData, (long) i * SEND_SLOT, outLength[i], Errno.EAGAIN);
        }
    }
}
