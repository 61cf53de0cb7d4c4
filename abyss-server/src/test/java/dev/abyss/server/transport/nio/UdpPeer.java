package dev.abyss.server.transport.nio;

import dev.abyss.ffi.net.PeerKey;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;

/** A real UDP client for the tests: a JDK DatagramChannel with receives bounded in time. */
final class UdpPeer implements AutoCloseable {
    private final DatagramChannel channel;
    private final Selector selector;
    private final ByteBuffer in = ByteBuffer.allocate(70_000);

    UdpPeer(String host) throws IOException {
        InetAddress ip = InetAddress.getByName(host);
        channel = DatagramChannel.open(ip instanceof Inet6Address ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        channel.bind(new InetSocketAddress(ip, 0));
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    InetSocketAddress localAddress() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    /** This client as the transport keys it (its own family). */
    PeerKey key() throws IOException {
        return new PeerKey().set(localAddress());
    }

    void send(byte[] data, SocketAddress to) throws IOException {
        int n = channel.send(ByteBuffer.wrap(data), to);
        if (n != data.length) {
            throw new IOException("client send took " + n + " of " + data.length + " bytes");
        }
    }

    void send(String text, SocketAddress to) throws IOException {
        send(text.getBytes(StandardCharsets.UTF_8), to);
    }

    /** The next datagram, or null when none arrives within {@code millis}. */
    byte[] receive(long millis) throws IOException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (true) {
            in.clear();
            if (channel.receive(in) != null) {
                in.flip();
                byte[] b = new byte[in.remaining()];
                in.get(b);
                return b;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return null;
            }
            selector.select(left);
            selector.selectedKeys().clear();
        }
    }

    String receiveText(long millis) throws IOException {
        byte[] b = receive(millis);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        selector.close();
        channel.close();
    }
}
