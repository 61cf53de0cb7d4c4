package dev.abyss.server.transport;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/**
 * A bound, non-blocking datagram socket with the server's options: the one place where the native
 * transports (epoll, io_uring) create sockets, so an option is written once. Closing it closes the
 * descriptor and unlinks an AF_UNIX path.
 *
 * <p>Options every socket gets, besides those of {@link TransportSettings}:
 * <ul>
 *   <li><b>SO_RXQ_OVFL</b>: once the kernel has dropped datagrams for the socket (full receive
 *       buffer), each received datagram carries the socket's cumulative drop count as a control
 *       message; the transports report its increase ({@link Transport.ReceiveSink#onKernelDrops}).</li>
 *   <li><b>IP_RECVERR</b> (IPv4 and dual-stack IPv6 sockets, for v4-mapped peers) and
 *       <b>IPV6_RECVERR</b> (IPv6): an ICMP error about a datagram we sent (port unreachable: the peer
 *       closed its socket) is queued on the socket's error queue with the peer's address instead of
 *       being ignored; the transports read it ({@link SocketErrors}) and report
 *       {@link Transport.ReceiveSink#onUnreachable}. Side effect the transports handle: the error is
 *       also left pending on the socket, so the next receive or send fails once with its errno.</li>
 *   <li><b>A receive buffer sized for throughput</b> when none is configured: see
 *       {@link ReceiveBuffer#DEFAULT}.</li>
 * </ul>
 * These are best effort: a kernel that refuses one leaves the socket working without it.
 */
public final class UdpSocket implements AutoCloseable, SocketControl {
    private static final Logger LOG = LoggerFactory.getLogger(UdpSocket.class);

    private final int fd;
    private final SocketAddress local;
    private final String unixPath; // to unlink on close
    private boolean closed;

    private final TransportSettings settings;
    private final boolean gro;

    private UdpSocket(int fd, SocketAddress local, TransportSettings settings, boolean gro, boolean adopted) {
        this.fd = fd;
        this.local = local;
        this.settings = settings;
        this.gro = gro;
        // an adopted AF_UNIX socket's path belongs to whoever bound it (systemd): not ours to unlink
        this.unixPath = !adopted && local instanceof UnixDomainSocketAddress u && !u.getPath().toString().startsWith("@")
                ? u.getPath().toString() : null;
    }

    /**
     * Opens a socket bound to {@code address}; SO_REUSEPORT when {@code reusePort}; with
     * {@code probeFirst}, a bind without sharing options first proves the address is free.
     */
    public static UdpSocket open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst)
            throws NativeException {
        return open(settings, address, reusePort, probeFirst, true);
    }

    /**
     * As {@link #open(TransportSettings, SocketAddress, boolean, boolean)}, blocking unless
     * {@code nonBlocking}. An {@link AdoptedSocket} address is adopted instead ({@link #adopt}).
     */
    public static UdpSocket open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                                 boolean nonBlocking) throws NativeException {
        if (address instanceof AdoptedSocket adopted) {
            return adopt(settings, adopted.fd(), nonBlocking);
        }
        String netns = settings.listen().netns();
        if (netns == null) {
            return openHere(settings, address, reusePort, probeFirst, nonBlocking);
        }
        try { // setns is per thread: a thread of its own enters the namespace, creates the socket, and leaves
            return dev.abyss.ffi.NetNamespace.run(netns, () -> openHere(settings, address, reusePort, probeFirst, nonBlocking));
        } catch (NativeException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("opening a socket in network namespace " + netns + ": " + e, e);
        }
    }

    private static UdpSocket openHere(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                                      boolean nonBlocking) throws NativeException {
        if (probeFirst) {
            address = probe(address, settings);
        }
        int family = SockAddr.familyOf(address);
        int fd = Sockets.openDatagram(family, nonBlocking);
        try {
            if (family != Net.AF_UNIX) {
                if (settings.reuseAddress()) {
                    Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEADDR, 1, "SO_REUSEADDR");
                }
                if (reusePort) {
                    Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEPORT, 1, "SO_REUSEPORT");
                }
                if (family == Net.AF_INET6 && address instanceof InetSocketAddress inet
                        && inet.getAddress() instanceof Inet6Address) {
                    Sockets.setInt(fd, Net.IPPROTO_IPV6, Net.IPV6_V6ONLY, settings.ipv6Only() ? 1 : 0, "IPV6_V6ONLY");
                }
            }
            boolean gro = configure(fd, family, address, settings);
            applyListenOptions(fd, family == Net.AF_INET6, settings.listen(), true);
            Sockets.bind(fd, address);
            UdpSocket s = new UdpSocket(fd, family == Net.AF_UNIX ? address : Sockets.localAddress(fd), settings, gro, false);
            s.joinConfiguredGroups();
            return s;
        } catch (NativeException | RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /**
     * Adopts {@code fd}, a bound datagram socket this process was given (systemd socket activation):
     * made close-on-exec, blocking or not as the transport needs ({@code O_NONBLOCK} is shared with
     * the giver's copy), and given the runtime options a created socket gets (buffers, control
     * messages, offloads); the bind-time ones (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY) are the
     * giver's. The returned socket owns {@code fd}; on a failure {@code fd} is closed.
     */
    public static UdpSocket adopt(TransportSettings settings, int fd, boolean nonBlocking) throws NativeException {
        try {
            Sockets.setCloseOnExec(fd);
            Sockets.setNonBlocking(fd, nonBlocking);
            int family = Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_DOMAIN, "SO_DOMAIN");
            SocketAddress local = Sockets.localAddress(fd);
            boolean gro = configure(fd, family, local, settings);
            applyListenOptions(fd, family == Net.AF_INET6, settings.listen(), false);
            UdpSocket s = new UdpSocket(fd, local, settings, gro, true);
            s.joinConfiguredGroups();
            return s;
        } catch (NativeException | RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /**
     * The options that take effect at any time, on a socket bound (adopted) or about to be: what
     * each datagram reports, the offloads, the buffers. Returns whether UDP_GRO was granted.
     */
    private static boolean configure(int fd, int family, SocketAddress address, TransportSettings settings)
            throws NativeException {
        if (family != Net.AF_UNIX) {
            if (isWildcard(address)) { // replies must leave from the address each request came to
                optional(fd, Net.SOL_IP, Net.IP_PKTINFO, "IP_PKTINFO");
                if (family == Net.AF_INET6) {
                    optional(fd, Net.SOL_IPV6, Net.IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO");
                }
            }
            // only the groups this socket joined: by default Linux hands a wildcard socket the datagrams of every
            // group any other socket of the host joined on its port (IP_MULTICAST_ALL), a server that never joined included
            clear(fd, Net.SOL_IP, Net.IP_MULTICAST_ALL, "IP_MULTICAST_ALL");
            if (family == Net.AF_INET6) {
                clear(fd, Net.SOL_IPV6, Net.IPV6_MULTICAST_ALL, "IPV6_MULTICAST_ALL");
            }
            // ICMP errors about our peers onto the error queue; a dual-stack socket's IPv4 peers report through IP_RECVERR
            optional(fd, Net.SOL_IP, Net.IP_RECVERR, "IP_RECVERR");
            if (family == Net.AF_INET6) {
                optional(fd, Net.SOL_IPV6, Net.IPV6_RECVERR, "IPV6_RECVERR");
            }
        }
        optional(fd, Net.SOL_SOCKET, Net.SO_RXQ_OVFL, "SO_RXQ_OVFL");
        boolean gro = false;
        if (family != Net.AF_UNIX) {
            if (settings.receiveTrafficClass()) { // a dual-stack socket's IPv4 datagrams report through IP_RECVTOS
                optional(fd, Net.SOL_IP, Net.IP_RECVTOS, "IP_RECVTOS");
                if (family == Net.AF_INET6) {
                    optional(fd, Net.SOL_IPV6, Net.IPV6_RECVTCLASS, "IPV6_RECVTCLASS");
                }
            }
            if (settings.receiveTimestamps()) {
                optional(fd, Net.SOL_SOCKET, Net.SO_TIMESTAMPNS, "SO_TIMESTAMPNS");
            }
            gro = settings.gro() && optional(fd, Net.SOL_UDP, Net.UDP_GRO, "UDP_GRO");
        }
        if (settings.receiveBufferSize() > 0) {
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, settings.receiveBufferSize(), "SO_RCVBUF");
        } else if (family != Net.AF_UNIX) { // an AF_UNIX receiver's queue is bounded by count and the sender's buffer
            sizeReceiveBuffer(fd, ReceiveBuffer.DEFAULT);
        }
        if (settings.sendBufferSize() > 0) {
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_SNDBUF, settings.sendBufferSize(), "SO_SNDBUF");
        }
        return gro;
    }

    private static boolean isWildcard(SocketAddress address) {
        return address instanceof InetSocketAddress inet && inet.getAddress() != null && inet.getAddress().isAnyLocalAddress();
    }

    /**
     * {@return the reader and writer of arrival addresses for this socket: enabled for a wildcard bind
     * (IP_PKTINFO), where a reply must name its source; off otherwise (the bound address is the source)}
     */
    public ArrivalAddress arrivalAddress() {
        boolean on = isWildcard(local);
        return new ArrivalAddress(on, local instanceof InetSocketAddress inet && inet.getAddress() instanceof Inet6Address,
                local instanceof InetSocketAddress inet ? inet.getPort() : 0);
    }

    /**
     * The reader of each received datagram's facts for this socket (its control messages), reporting
     * drop counts to {@code drops}.
     */
    public ReceivedDatagram receivedDatagram(ArrivalAddress arrival, DropCounter drops) {
        boolean ip = !(local instanceof UnixDomainSocketAddress);
        return new ReceivedDatagram(arrival, drops, ip && settings.receiveTrafficClass(),
                ip && settings.receiveTimestamps());
    }

    /** Whether the socket takes coalesced receives (UDP_GRO granted): receives must be split at the GRO segment size. */
    public boolean gro() {
        return gro;
    }

    /** The writer of this socket's send control messages (source address, traffic class, GSO size). */
    public SendControl sendControl(ArrivalAddress arrival) {
        return new SendControl(arrival, !(local instanceof UnixDomainSocketAddress));
    }

    /** The GSO coalescing of this socket's sends (off for AF_UNIX, where datagrams have no segments). */
    public Gso gso(java.lang.foreign.Arena arena) {
        return new Gso(settings.gso() && !(local instanceof UnixDomainSocketAddress), settings.gsoMaxSegments(), arena,
                String.valueOf(local));
    }

    /** Turns a boolean option off; a kernel without it keeps its default. */
    private static void clear(int fd, int level, int option, String name) {
        try {
            Sockets.setInt(fd, level, option, 0, name);
        } catch (NativeException e) {
            LOG.debug("{} unavailable: {}", name, e.getMessage());
        }
    }

    /** Turns a boolean option on; a kernel that refuses it leaves the socket without it (false). */
    private static boolean optional(int fd, int level, int option, String name) {
        try {
            Sockets.setInt(fd, level, option, 1, name);
            return true;
        } catch (NativeException e) {
            LOG.debug("{} unavailable: {}", name, e.getMessage());
            return false;
        }
    }

    /**
     * Asks for a receive buffer of {@code bytes} unless the socket already has one as large:
     * SO_RCVBUFFORCE (needs CAP_NET_ADMIN; EPERM otherwise), else SO_RCVBUF (capped by
     * net.core.rmem_max). Logs once what was granted when it is less than asked. Returns the
     * SO_RCVBUF read back (twice what was set: the kernel counts its bookkeeping).
     */
    static int sizeReceiveBuffer(int fd, int bytes) throws NativeException {
        int before = Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, "SO_RCVBUF");
        long wanted = 2L * bytes; // what the kernel reports for a request of bytes
        if (before >= wanted) {
            return before;
        }
        try {
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUFFORCE, bytes, "SO_RCVBUFFORCE");
        } catch (NativeException e) {
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, bytes, "SO_RCVBUF"); // EPERM: without CAP_NET_ADMIN
        }
        int granted = Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, "SO_RCVBUF");
        ReceiveBuffer.reportGranted(bytes, granted / 2);
        return granted;
    }

    /**
     * SO_REUSEPORT would let us bind next to another process's socket on the same port and split its
     * traffic. A bind with no sharing options first proves the port is free (EADDRINUSE otherwise)
     * and, for port 0, picks the port every acceptor then shares.
     */
    private static SocketAddress probe(SocketAddress address, TransportSettings settings) throws NativeException {
        int probe = Sockets.openDatagram(SockAddr.familyOf(address), true);
        try {
            for (dev.abyss.server.UdpOption<?> o : java.util.List.of(dev.abyss.server.UdpOption.FREEBIND,
                    dev.abyss.server.UdpOption.BIND_TO_DEVICE)) { // what decides whether and where the address binds
                Object v = settings.listen().options().get(o);
                if (v != null) {
                    try {
                        NativeOptions.set(probe, SockAddr.familyOf(address) == Net.AF_INET6, o, v);
                    } catch (java.io.IOException io) {
                        throw asNative(io);
                    }
                }
            }
            Sockets.bind(probe, address);
            return Sockets.localAddress(probe);
        } finally {
            LibC.close(probe);
        }
    }

    public int fd() {
        return fd;
    }

    /**
     * Attaches the reuseport program that returns the receiving CPU modulo {@code sockets}
     * ({@link dev.abyss.ffi.net.Bpf#attachReuseportCpu}) to this socket's SO_REUSEPORT group. The
     * program belongs to the group, not to this socket: once, on any member; called on the first
     * socket after every acceptor's socket is bound, so the group's indexes are the acceptors'
     * (each socket takes the next index when it binds).
     *
     * @param sockets the sockets of the group
     * @throws NativeException when the kernel refuses
     */
    public void steerByCpu(int sockets) throws NativeException {
        dev.abyss.ffi.net.Bpf.attachReuseportCpu(fd, sockets);
        LOG.debug("{}: reuseport steering by CPU over {} sockets", local, sockets);
    }

    public SocketAddress localAddress() {
        return local;
    }

    /**
     * Control-message space a receive on this socket should offer, given what an IP socket wants:
     * none on AF_UNIX, where the only control messages are a peer's (SCM_RIGHTS would install the
     * descriptors it passes into this process; with no space the kernel discards them).
     */
    public int controlSpace(int ipControlSpace) {
        return local instanceof UnixDomainSocketAddress ? 0 : ipControlSpace;
    }

    /**
     * Throws {@link SocketLostException} when {@code errno} says the descriptor is no longer this
     * socket (EBADF, ENOTSOCK): it was closed underneath us, and must not be closed again (its number
     * may belong to someone else by now). Only the first time: the sends still in flight fail the
     * same way while the acceptor winds down, and must not cut its exit short.
     *
     * @param errno the positive errno of a failed call on this socket
     * @param call  the call, for the message
     */
    public void failIfLost(int errno, String call) {
        if (errno == dev.abyss.ffi.Errno.EBADF || errno == dev.abyss.ffi.Errno.ENOTSOCK) {
            if (lost) {
                return; // said once: the acceptor is already giving up, later failures are only counted
            }
            lost = true;
            throw new SocketLostException(call + " on the socket of " + local + " failed with "
                    + dev.abyss.ffi.Errno.name(errno) + ": its descriptor " + fd + " was closed underneath the server");
        }
    }

    /** Marks the descriptor as closed by someone else: {@link #close()} will not close it again. */
    public void markLost() {
        lost = true;
    }

    private boolean lost;

    // ---- listen options: at open, and from any thread on the live socket (SocketControl)

    /**
     * Sets the config's socket options on {@code fd}; the bind-time ones only when {@code beforeBind}
     * (an adopted socket is bound already: build() refuses them there).
     */
    private static void applyListenOptions(int fd, boolean inet6, dev.abyss.server.ServerConfig.ListenOptions listen,
                                           boolean beforeBind) throws NativeException {
        for (java.util.Map.Entry<dev.abyss.server.UdpOption<?>, Object> e : listen.options().entrySet()) {
            if (!beforeBind && !e.getKey().changeableAfterBind()) {
                continue;
            }
            try {
                NativeOptions.set(fd, inet6, e.getKey(), e.getValue());
            } catch (NativeException ne) {
                throw ne;
            } catch (java.io.IOException io) {
                throw asNative(io);
            }
        }
    }

    /** Joins the config's groups: every acceptor's socket is a member. */
    private void joinConfiguredGroups() throws NativeException {
        for (dev.abyss.server.MulticastGroup g : settings.listen().groups()) {
            try {
                NativeOptions.membership(fd, inet6(), g, true);
            } catch (java.io.IOException io) {
                throw asNative(io);
            }
        }
        String mif = settings.listen().get(dev.abyss.server.UdpOption.MULTICAST_INTERFACE);
        multicastInterface = mif;
    }

    /** An option's refusal, with its message (option, value, call, errno), as the NativeException open throws. */
    private static NativeException asNative(java.io.IOException io) {
        if (io instanceof NativeException ne) {
            return ne;
        }
        if (io.getCause() instanceof NativeException ne) {
            NativeException n = new NativeException(io.getMessage(), ne.errno());
            n.initCause(io);
            return n;
        }
        throw new IllegalStateException(io.getMessage(), io);
    }

    private boolean inet6() {
        return local instanceof InetSocketAddress inet && inet.getAddress() instanceof Inet6Address;
    }

    /** What MULTICAST_INTERFACE was last set to (the kernel keeps an index or an address, not the name). */
    private String multicastInterface;

    @Override
    public synchronized <T> void set(dev.abyss.server.UdpOption<T> option, T value) throws java.io.IOException {
        checkOpen("socketOption " + option);
        NativeOptions.set(fd, inet6(), option, value);
        if (option == dev.abyss.server.UdpOption.MULTICAST_INTERFACE) {
            multicastInterface = (String) value;
        }
    }

    @Override
    public synchronized <T> T get(dev.abyss.server.UdpOption<T> option) throws java.io.IOException {
        checkOpen("socketOption " + option);
        return option.type().cast(NativeOptions.get(fd, inet6(), option, multicastInterface));
    }

    @Override
    public synchronized void membership(dev.abyss.server.MulticastGroup group, boolean join) throws java.io.IOException {
        checkOpen((join ? "joinGroup " : "leaveGroup ") + group);
        NativeOptions.membership(fd, inet6(), group, join);
    }

    /** Under this socket's lock: the descriptor is ours until close(), which takes the same lock. */
    private void checkOpen(String what) {
        if (closed || lost) {
            throw new IllegalStateException(what + ": the socket of " + local + " is closed");
        }
        if (local instanceof UnixDomainSocketAddress) {
            throw new IllegalArgumentException(what + ": an AF_UNIX socket has no IP options");
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!lost) {
            LibC.close(fd);
        }
        if (unixPath != null) {
            new File(unixPath).delete();
        }
    }
}
