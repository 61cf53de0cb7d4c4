package dev.abyss.server.transport;

import dev.abyss.server.MulticastGroup;
import dev.abyss.server.UdpOption;

import java.io.IOException;

/**
 * The options and memberships of one live socket, from any thread: safe against the socket being
 * closed meanwhile (a call after the close throws {@link IllegalStateException}; none reaches a
 * descriptor number that may have been reused).
 */
public interface SocketControl {
    /** A transport without a socket of its own: every call refuses. */
    SocketControl NONE = new SocketControl() {
        @Override
        public <T> void set(UdpOption<T> option, T value) {
            throw new UnsupportedOperationException("socketOption " + option + ": this transport has no socket options");
        }

        @Override
        public <T> T get(UdpOption<T> option) {
            throw new UnsupportedOperationException("socketOption " + option + ": this transport has no socket options");
        }

        @Override
        public void membership(MulticastGroup group, boolean join) {
            throw new UnsupportedOperationException((join ? "joinGroup " : "leaveGroup ") + group + ": this transport has no socket");
        }
    };

    /**
     * Sets {@code option} to {@code value} (checked already).
     *
     * @throws IllegalArgumentException naming the option and value when the kernel finds it invalid
     *                                  (an unknown interface name: ENODEV; EINVAL)
     * @throws UnsupportedOperationException when the transport has no such option (NIO)
     * @throws IllegalStateException    when the socket is closed
     * @throws IOException              when the kernel refuses otherwise (EPERM: a capability is missing)
     */
    <T> void set(UdpOption<T> option, T value) throws IOException;

    /**
     * Reads {@code option} from the socket.
     *
     * @throws UnsupportedOperationException when the transport has no such option (NIO)
     * @throws IllegalStateException         when the socket is closed
     * @throws IOException                   when the kernel refuses
     */
    <T> T get(UdpOption<T> option) throws IOException;

    /**
     * Joins or leaves {@code group}.
     *
     * @throws IllegalStateException    when the socket is closed, joining a group joined already
     *                                  (EADDRINUSE) or leaving one not joined (EADDRNOTAVAIL)
     * @throws IllegalArgumentException naming it for an unknown interface or a group the socket's family cannot join
     * @throws IOException              when the kernel refuses otherwise
     */
    void membership(MulticastGroup group, boolean join) throws IOException;
}
