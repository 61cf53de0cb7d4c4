package dev.abyss.server;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A real datagram client with receives bounded in time: a JDK DatagramChannel for IPv4 and IPv6,
 * a raw AF_UNIX socket through abyss-ffi for a unix path (the JDK has no AF_UNIX datagram channel).
 */
final class Client implements AutoCloseable {
    private final SocketAddress server;
    private final DatagramChannel channel;
    private final Selector selector;
    // AF_UNIX
    private final int fd;
    private final Path path;
    private final Arena arena;
    private final Epoll epoll;

    Client(SocketAddress server) throws IOException {
        this.server = server;
        if (server instanceof InetSocketAddress inet) {
            channel = DatagramChannel.open(inet.getAddress() instanceof java.net.Inet6Address
                    ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
            channel.bind(new InetSocketAddress(inet.getAddress(), 0));
            channel.configureBlocking(false);
            selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
            fd = -1;
            path = null;
            arena = null;
            epoll = null;
        } else {
            channel = null;
            selector = null;
            path = Files.createTempDirectory("abyss-client").resolve("c.sock");
            arena = Arena.ofShared();
            fd = Sockets.openDatagram(Net.AF_UNIX, true);
            Sockets.bind(fd, UnixDomainSocketAddress.of(path));
            Sockets.connect(fd, server);
            epoll = Epoll.create(1);
            epoll.add(fd, Epoll.EPOLLIN, 1);
        }
    }

    /** Asks for a larger socket receive buffer (IP only), so a burst is not lost before it is read. */
    Client receiveBuffer(int bytes) throws IOException {
        channel.setOption(java.net.StandardSocketOptions.SO_RCVBUF, bytes);
        return this;
    }

    SocketAddress localAddress() throws IOException {
        return channel != null ? channel.getLocalAddress() : UnixDomainSocketAddress.of(path);
    }

    void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    void send(byte[] data) throws IOException {
        if (channel != null) {
            channel.send(ByteBuffer.wrap(data), server);
            return;
        }
        MemorySegment buf = arena.allocate(Math.max(1, data.length));
        MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
        LibC.check(LibC.write(fd, buf, data.length), "write");
    }

    /** The next datagram's text, or null when none arrives within {@code millis}. */
    String receive(long millis) throws IOException {
        byte[] b = receiveBytes(millis);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    byte[] receiveBytes(long millis) throws IOException {
        long deadline = System.currentTimeMillis() + millis;
        ByteBuffer buf = channel != null ? ByteBuffer.allocate(70_000) : null;
        MemorySegment seg = channel != null ? null : arena.allocate(70_000);
        while (true) {
            if (channel != null) {
                if (channel.receive(buf) != null) {
                    buf.flip();
                    byte[] out = new byte[buf.remaining()];
                    buf.get(out);
                    return out;
                }
            } else {
                long n = LibC.read(fd, seg, seg.byteSize());
                if (n >= 0) {
                    return seg.asSlice(0, n).toArray(JAVA_BYTE);
                }
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return null;
            }
            if (channel != null) {
                selector.select(left);
                selector.selectedKeys().clear();
            } else {
                epoll.await((int) left);
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            selector.close();
            channel.close();
        } else {
            epoll.close();
            LibC.close(fd);
            arena.close();
            Files.deleteIfExists(path);
            Files.deleteIfExists(path.getParent());
        }
    }
}
