package dev.abyss.loopback;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.ControlMessages;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Many distinct IPv4 peers through one socket, as many hosts would be, for load tests and
 * benchmarks on one machine: the socket is bound to 0.0.0.0:P and each datagram it sends carries an
 * IP_PKTINFO control message whose {@code ipi_spec_dst} sets its source address, so a server sees
 * peer {@code n} as {@link #address(int) 127.(1 + n / 65536).(n / 256 % 256).(n % 256)}:P, and its
 * replies to any of them come back to this one socket (read them from {@link #fd()}, e.g. with
 * {@link #receive} or a {@link dev.abyss.ffi.net.MessageBatch}).
 *
 * <p>The messages are built once in the instance's own memory: a send writes the source address
 * and the buffer into them and allocates nothing. The socket is blocking; pass
 * {@link Net#MSG_DONTWAIT} to a call that must not wait. Not thread-safe: one thread, the one that
 * opened it, sends and receives.
 *
 * <p>A load-test tool, not part of any library: it lives in abyss-loopback, which the benchmarks
 * (abyss-bench) and the tests of abyss-server and native-tests use, and which no application gets.
 */
public final class LoopbackPeers implements AutoCloseable {
    /** How many peers there are: {@code n} runs from 0 (127.1.0.0) to this minus one (127.255.255.254). */
    public static final int MAX_PEERS = 255 * 65_536 - 1;

    private static final int FIRST = 127 << 24 | 1 << 16; // 127.1.0.0, peer 0
    /** An IPv4 address as the kernel stores it: in network byte order. */
    private static final ValueLayout.OfInt NET_INT = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);

    private final Arena arena = Arena.ofConfined();
    private final int fd;
    private final int port;
    private final MemorySegment msg = arena.allocate(MsgLayouts.MSGHDR);
    private final MemorySegment iov = arena.allocate(MsgLayouts.IOVEC);
    private final MemorySegment control = arena.allocate(MsgLayouts.cmsgSpace(MsgLayouts.IN_PKTINFO.byteSize()), 8);
    private final long source; // ipi_spec_dst in control
    private final MemorySegment inMsg = arena.allocate(MsgLayouts.MSGHDR);
    private final MemorySegment inIov = arena.allocate(MsgLayouts.IOVEC);

    /**
     * Opens a socket on 0.0.0.0 (a port the kernel chooses) that sends to {@code target} with the
     * system's default receive buffer.
     *
     * @param target where every datagram goes, an IPv4 address (e.g. a server on 127.0.0.1)
     * @throws NativeException when the socket cannot be opened or bound
     * @throws IllegalArgumentException when {@code target} is not a resolved IPv4 address
     */
    public LoopbackPeers(SocketAddress target) throws NativeException {
        this(target, 0);
    }

    /**
     * Opens a socket on 0.0.0.0 (a port the kernel chooses) that sends to {@code target}.
     *
     * @param target            where every datagram goes, an IPv4 address (e.g. a server on 127.0.0.1)
     * @param receiveBufferSize the socket's SO_RCVBUF in bytes, room for the replies of many peers;
     *                          0 leaves the system's default
     * @throws NativeException when the socket cannot be opened, set up or bound
     * @throws IllegalArgumentException when {@code target} is not a resolved IPv4 address or the size is negative
     */
    public LoopbackPeers(SocketAddress target, int receiveBufferSize) throws NativeException {
        int s = -1;
        try {
            if (SockAddr.familyOf(target) != Net.AF_INET) {
                throw new IllegalArgumentException("the peers are IPv4, so the target must be: " + target);
            }
            if (receiveBufferSize < 0) {
                throw new IllegalArgumentException("receiveBufferSize must be 0 or more, was " + receiveBufferSize);
            }
            s = Sockets.openDatagram(Net.AF_INET, false);
            if (receiveBufferSize > 0) {
                Sockets.setInt(s, Net.SOL_SOCKET, Net.SO_RCVBUF, receiveBufferSize, "SO_RCVBUF");
            }
            Sockets.bind(s, new InetSocketAddress("0.0.0.0", 0));
            port = ((InetSocketAddress) Sockets.localAddress(s)).getPort();
        } catch (NativeException | RuntimeException e) {
            if (s >= 0) {
                LibC.close(s);
            }
            arena.close();
            throw e;
        }
        fd = s;
        MemorySegment name = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        msg.set(ADDRESS, MsgLayouts.MSG_NAME, name);
        msg.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, SockAddr.write(target, name));
        msg.set(ADDRESS, MsgLayouts.MSG_IOV, iov);
        msg.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
        msg.set(ADDRESS, MsgLayouts.MSG_CONTROL, control);
        msg.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, control.byteSize());
        long pktinfo = ControlMessages.write(control, 0, Net.IPPROTO_IP, Net.IP_PKTINFO, MsgLayouts.IN_PKTINFO.byteSize());
        source = pktinfo + MsgLayouts.IPI_SPEC_DST; // ipi_ifindex 0 (any interface) and ipi_addr stay zero
        inMsg.set(ADDRESS, MsgLayouts.MSG_IOV, inIov);
        inMsg.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
    }

    /**
     * Peer {@code n}'s IPv4 address: 127.(1 + n / 65536).(n / 256 % 256).(n % 256).
     *
     * @param n the peer, 0 to {@link #MAX_PEERS} - 1
     * @return the address as an {@code int} whose big-endian bytes are its four octets
     * @throws IllegalArgumentException when {@code n} is out of that range
     */
    public static int address(int n) {
        if (n < 0 || n >= MAX_PEERS) {
            throw new IllegalArgumentException("peer " + n + " is outside 0.." + (MAX_PEERS - 1));
        }
        return FIRST + n;
    }

    /**
     * Peer {@code n}'s socket address, as a server sees it.
     *
     * @param n    the peer, 0 to {@link #MAX_PEERS} - 1
     * @param port the port, this socket's {@link #port()}
     * @return 127.(1 + n / 65536).(n / 256 % 256).(n % 256):{@code port}
     * @throws IllegalArgumentException when {@code n} is out of range
     */
    public static InetSocketAddress peer(int n, int port) {
        int a = address(n);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(
                    new byte[]{(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a}), port);
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // four bytes are always an address
        }
    }

    /**
     * Sends the first {@code length} bytes of {@code data} to the target as peer {@code n}.
     *
     * @param n      the peer, 0 to {@link #MAX_PEERS} - 1
     * @param data   the datagram's bytes, in native memory
     * @param length how many of them to send
     * @param flags  {@code sendmsg} flags, e.g. {@link Net#MSG_DONTWAIT} to get EAGAIN rather than
     *               wait while the send buffer is full
     * @return the number of bytes sent, or {@code -errno}
     * @throws IllegalArgumentException when {@code n} is out of range
     * @throws IndexOutOfBoundsException when {@code length} is negative or larger than {@code data}
     */
    public long send(int n, MemorySegment data, long length, int flags) {
        Objects.checkFromIndexSize(0, length, data.byteSize());
        control.set(NET_INT, source, address(n));
        iov.set(ADDRESS, MsgLayouts.IOV_BASE, data);
        iov.set(JAVA_LONG, MsgLayouts.IOV_LEN, length);
        return LibC.sendmsg(fd, msg, flags);
    }

    /**
     * Receives one datagram, a reply to any of the peers, into {@code buffer}.
     *
     * @param buffer where it goes, in native memory; a longer datagram is truncated to its size
     * @param flags  {@code recvmsg} flags, e.g. {@link Net#MSG_DONTWAIT} to get EAGAIN rather than
     *               wait when none is queued
     * @return the number of bytes received, or {@code -errno}
     */
    public long receive(MemorySegment buffer, int flags) {
        inIov.set(ADDRESS, MsgLayouts.IOV_BASE, buffer);
        inIov.set(JAVA_LONG, MsgLayouts.IOV_LEN, buffer.byteSize());
        return LibC.recvmsg(fd, inMsg, flags);
    }

    /**
     * {@return the socket, for options or batched receives of the replies}
     */
    public int fd() {
        return fd;
    }

    /**
     * {@return the port the socket is bound to, the port of every peer}
     */
    public int port() {
        return port;
    }

    /** Closes the socket and frees the messages. */
    @Override
    public void close() {
        LibC.close(fd);
        arena.close();
    }
}
