package dev.abyss.nativetests.reliability;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Many distinct IPv4 peers through one socket, as many hosts would be: the socket is bound to
 * 0.0.0.0:P and each datagram carries an IP_PKTINFO control message that sets its source address
 * to 127.a.b.c, so the server sees peer {@code n} as 127.(1 + n / 65536).(n / 256 % 256).(n % 256):P
 * and its replies to any of them come back here. The first 4 bytes of each datagram are {@code n}.
 * Not thread-safe: one thread sends and receives.
 */
final class ManyPeers implements AutoCloseable {
    private static final long PKTINFO_SIZE = 12; // struct in_pktinfo: ifindex, spec_dst, addr

    private final Arena arena = Arena.ofConfined();
    private final int fd;
    private final MemorySegment msg = arena.allocate(MsgLayouts.MSGHDR);
    private final MemorySegment iov = arena.allocate(MsgLayouts.IOVEC);
    private final MemorySegment name = arena.allocate(SockAddr.SOCKADDR_STORAGE);
    private final MemorySegment control = arena.allocate(MsgLayouts.cmsgSpace(PKTINFO_SIZE), 8);
    private final MemorySegment data = arena.allocate(65_536);
    private final MemorySegment in = arena.allocate(65_536);
    private final MemorySegment inMsg = arena.allocate(MsgLayouts.MSGHDR);
    private final MemorySegment inIov = arena.allocate(MsgLayouts.IOVEC);
    private long received;

    ManyPeers(SocketAddress server) throws NativeException {
        fd = Sockets.openDatagram(Net.AF_INET, true);
        Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, 4 << 20, "SO_RCVBUF");
        Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_SNDBUF, 4 << 20, "SO_SNDBUF");
        Sockets.bind(fd, new InetSocketAddress("0.0.0.0", 0));
        int nameLength = SockAddr.write(server, name);
        msg.set(ADDRESS, MsgLayouts.MSG_NAME, name);
        msg.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, nameLength);
        iov.set(ADDRESS, MsgLayouts.IOV_BASE, data);
        msg.set(ADDRESS, MsgLayouts.MSG_IOV, iov);
        msg.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
        msg.set(ADDRESS, MsgLayouts.MSG_CONTROL, control);
        msg.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, control.byteSize());
        control.set(JAVA_LONG, MsgLayouts.CMSG_LEN_FIELD, MsgLayouts.cmsgLen(PKTINFO_SIZE));
        control.set(JAVA_INT, MsgLayouts.CMSG_LEVEL, Net.IPPROTO_IP);
        control.set(JAVA_INT, MsgLayouts.CMSG_TYPE, Net.IP_PKTINFO);
        inIov.set(ADDRESS, MsgLayouts.IOV_BASE, in);
        inIov.set(JAVA_LONG, MsgLayouts.IOV_LEN, in.byteSize());
        inMsg.set(ADDRESS, MsgLayouts.MSG_IOV, inIov);
        inMsg.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
        for (int i = 4; i < data.byteSize(); i++) {
            data.set(JAVA_BYTE, i, (byte) (i * 31 + 7)); // a pattern, not zeros
        }
    }

    /**
     * Sends {@code length} bytes (at least 4; the first 4 are {@code n}) as peer {@code n}; false when
     * the socket's send buffer is full (EAGAIN).
     */
    boolean send(int n, int length) {
        long at = MsgLayouts.cmsgAlign(MsgLayouts.CMSGHDR.byteSize());
        control.set(JAVA_INT, at, 0); // any interface
        // ipi_spec_dst, the source address, in network order: 127.a.b.c
        control.set(JAVA_BYTE, at + 4, (byte) 127);
        control.set(JAVA_BYTE, at + 5, (byte) (1 + n / 65536));
        control.set(JAVA_BYTE, at + 6, (byte) (n / 256 % 256));
        control.set(JAVA_BYTE, at + 7, (byte) (n % 256));
        control.set(JAVA_INT, at + 8, 0);
        data.set(JAVA_INT, 0, n);
        iov.set(JAVA_LONG, MsgLayouts.IOV_LEN, Math.max(4, length));
        long r = LibC.sendmsg(fd, msg, Net.MSG_DONTWAIT);
        if (r < 0 && r != -dev.abyss.ffi.Errno.EAGAIN) {
            throw new IllegalStateException("sendmsg as peer " + n + ": errno " + -r);
        }
        return r >= 0;
    }

    /** The next reply's peer number (its first 4 bytes), or -1 when none is waiting. */
    int receive() {
        long n = LibC.recvmsg(fd, inMsg, Net.MSG_DONTWAIT);
        if (n >= 4) {
            received++;
            return in.get(JAVA_INT, 0);
        }
        return -1;
    }

    /** Replies received so far. */
    long received() {
        return received;
    }

    @Override
    public void close() {
        LibC.close(fd);
        arena.close();
    }
}
