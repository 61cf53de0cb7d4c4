package dev.abyss.server.transport.nio;

import dev.abyss.server.MulticastGroup;
import dev.abyss.server.UdpOption;
import dev.abyss.server.transport.SocketControl;

import java.io.IOException;
import java.net.NetworkInterface;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.MembershipKey;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@link UdpOption}s the JDK's {@link DatagramChannel} has, through its standard options, and
 * multicast through {@link MembershipKey}s: {@link UdpOption#BROADCAST} (SO_BROADCAST),
 * {@link UdpOption#MULTICAST_TTL}, {@link UdpOption#MULTICAST_LOOP}, {@link UdpOption#MULTICAST_INTERFACE}
 * (IP_MULTICAST_IF, a {@link NetworkInterface} by name), {@link UdpOption#TRAFFIC_CLASS} (IP_TOS).
 * Every other option is refused, naming it and NIO. A membership needs an interface (the JDK's
 * {@code join} takes one). Thread-safe: the channel's options and joins are.
 */
final class NioOptions implements SocketControl {
    private final DatagramChannel channel;
    private final Map<MulticastGroup, MembershipKey> keys = new HashMap<>();

    NioOptions(DatagramChannel channel) {
        this.channel = channel;
    }

    @Override
    public <T> void set(UdpOption<T> option, T value) throws IOException {
        SocketOption<?> jdk = jdkOption(option);
        try {
            if (option == UdpOption.MULTICAST_INTERFACE) {
                channel.setOption(StandardSocketOptions.IP_MULTICAST_IF, networkInterface((String) value, "socketOption " + option));
            } else {
                @SuppressWarnings("unchecked") SocketOption<Object> o = (SocketOption<Object>) jdk;
                channel.setOption(o, value);
            }
        } catch (ClosedChannelException e) {
            throw new IllegalStateException("socketOption " + option + ": the channel is closed", e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("socketOption " + option + " " + UdpOption.describe(value) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public <T> T get(UdpOption<T> option) throws IOException {
        SocketOption<?> jdk = jdkOption(option);
        try {
            Object v = channel.getOption(jdk);
            if (option == UdpOption.MULTICAST_INTERFACE) {
                v = v == null ? null : ((NetworkInterface) v).getName();
            }
            return option.type().cast(v);
        } catch (ClosedChannelException e) {
            throw new IllegalStateException("socketOption " + option + ": the channel is closed", e);
        }
    }

    @Override
    public synchronized void membership(MulticastGroup g, boolean join) throws IOException {
        String what = (join ? "joinGroup " : "leaveGroup ") + g;
        if (!channel.isOpen()) {
            throw new IllegalStateException(what + ": the channel is closed");
        }
        if (!join) {
            MembershipKey key = keys.remove(g);
            if (key == null) {
                throw new IllegalStateException(what + ": not joined");
            }
            key.drop();
            return;
        }
        if (keys.containsKey(g)) {
            throw new IllegalStateException(what + ": joined already");
        }
        if (g.interfaceName() == null) {
            throw new IllegalArgumentException(what + ": transport NIO needs an interface (the JDK's DatagramChannel.join takes one)");
        }
        NetworkInterface ni = networkInterface(g.interfaceName(), what);
        try {
            keys.put(g, g.source() == null ? channel.join(g.group(), ni) : channel.join(g.group(), ni, g.source()));
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
    }

    private static NetworkInterface networkInterface(String name, String what) throws IOException {
        NetworkInterface ni = NetworkInterface.getByName(name);
        if (ni == null) {
            throw new IllegalArgumentException(what + ": no interface '" + name + "'");
        }
        return ni;
    }

    /** The JDK's option for {@code option}, or a refusal naming it and NIO. */
    static SocketOption<?> jdkOption(UdpOption<?> option) {
        if (option == UdpOption.BROADCAST) {
            return StandardSocketOptions.SO_BROADCAST;
        }
        if (option == UdpOption.MULTICAST_TTL) {
            return StandardSocketOptions.IP_MULTICAST_TTL;
        }
        if (option == UdpOption.MULTICAST_LOOP) {
            return StandardSocketOptions.IP_MULTICAST_LOOP;
        }
        if (option == UdpOption.MULTICAST_INTERFACE) {
            return StandardSocketOptions.IP_MULTICAST_IF;
        }
        if (option == UdpOption.TRAFFIC_CLASS) {
            return StandardSocketOptions.IP_TOS;
        }
        throw new UnsupportedOperationException("socketOption " + option + ": transport NIO cannot set it"
                + " (the JDK's DatagramChannel has no such option); use transport EPOLL or IO_URING");
    }
}
