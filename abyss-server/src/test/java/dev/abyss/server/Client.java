package dev.abyss.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;

/** A real UDP client on a JDK DatagramChannel, with receives bounded in time. */
final class Client implements AutoCloseable {
    final DatagramChannel channel;
    private final SocketAddress server;
    private final Selector selector;

    Client(SocketAddress server) throws IOException {
        this.server = server;
        {
            InetSocketAddress inet = (InetSocketAddress) server;
            channel = DatagramChannel.open(inet.getAddress() instanceof java.net.Inet6Address
                    ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
            channel.bind(new InetSocketAddress(inet.getAddress(), 0));
        }
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    SocketAddress localAddress() throws IOException {
        return channel.getLocalAddress();
    }

    void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    void send(byte[] data) throws IOException {
        channel.send(ByteBuffer.wrap(data), server);
    }

    /** The next datagram's text, or null when none arrives within {@code millis}. */
    String receive(long millis) throws IOException {
        byte[] b = receiveBytes(millis);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    byte[] receiveBytes(long millis) throws IOException {
        long deadline = System.currentTimeMillis() + millis;
        ByteBuffer buf = ByteBuffer.allocate(70_000);
        while (true) {
            if (channel.receive(buf) != null) {
                buf.flip();
                byte[] out = new byte[buf.remaining()];
                buf.get(out);
                return out;
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return null;
            }
            selector.select(left);
            selector.selectedKeys().clear();
        }
    }

    @Override
    public void close() throws IOException {
        selector.close();
        channel.close();
    }
}
