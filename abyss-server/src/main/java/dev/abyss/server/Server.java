package dev.abyss.server;

import dev.abyss.server.engine.ServerEngine;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * A running Abyss server, returned by {@link Abyss#start(ServerConfig)}. Thread-safe.
 * {@link #close()} stops it with the configured shutdown timeout.
 */
public final class Server implements AutoCloseable {
    private final ServerConfig config;
    private final ServerEngine engine;

    Server(ServerConfig config, ServerEngine engine) {
        this.config = config;
        this.engine = engine;
    }

    /** For tests in this package: the engine behind this server. */
    ServerEngine engine() {
        return engine;
    }

    /** {@return where the server listens; with port 0 in the config, the port the kernel chose} */
    public SocketAddress localAddress() {
        return engine.localAddress();
    }

    /** {@return the transport in use (what AUTO resolved to)} */
    public TransportKind transport() {
        return engine.transport();
    }

    /**
     * {@return what the transport says of itself beyond its kind, for a start line: for
     * {@link TransportKind#XDP} the mode (native or generic), copy or zero-copy, and the queues
     * served; "" for the socket transports}
     */
    public String transportDetail() {
        return engine.transportDetail();
    }

    /** {@return the config the server was started with} */
    public ServerConfig config() {
        return config;
    }

    /**
     * Stops receiving at once, lets live sessions finish until {@code connectionWait} has passed,
     * then ends the rest with {@link Handler#handleShutdown}. Returns when every acceptor thread has
     * exited and every socket and native buffer is freed. Idempotent.
     *
     * @param connectionWait how long live sessions may go on, not negative
     */
    public void stop(Duration connectionWait) {
        Objects.requireNonNull(connectionWait, "connectionWait");
        if (connectionWait.isNegative()) {
            throw new IllegalArgumentException("connectionWait must not be negative, was " + connectionWait);
        }
        engine.stop(connectionWait);
    }

    /**
     * Restart without loss, the old process's side: waits at {@code path} (a Unix-domain socket it
     * creates, mode 0600, removed after) for one successor ({@link Handoff#takeOver}), sends it every
     * acceptor's socket (SCM_RIGHTS), keeps serving while the successor starts on them, and once it
     * says it started, stops like {@link #stop(Duration)}: receiving ends at once (what the kernel
     * queues from then on is the successor's), callbacks in flight finish, live sessions may go on
     * until {@code shutdownTimeout}, the rest end with {@link Handler#handleShutdown}. If no successor
     * comes within {@code offerTimeout}, the sockets cannot be sent, or the successor fails to start
     * (or says nothing within {@code startTimeout}), this server keeps serving and the call throws.
     * See {@link Handoff}.
     *
     * @param path            where to wait, e.g. {@code /run/abyss/handoff.sock}
     * @param offerTimeout    how long to wait for a successor; null: until one comes
     * @param startTimeout    how long the successor may take to start once it has the sockets
     * @param shutdownTimeout as {@link #stop(Duration)}'s {@code connectionWait}
     * @throws java.io.IOException naming {@code path} and the reason; the server still serves then
     * @throws IllegalStateException when the server has stopped, or runs on NIO (no descriptors to hand)
     */
    public void handOff(java.nio.file.Path path, Duration offerTimeout, Duration startTimeout, Duration shutdownTimeout)
            throws java.io.IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(startTimeout, "startTimeout");
        Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
        int[] fds = engine.socketFds();
        java.util.List<String> names = new java.util.ArrayList<>();
        java.util.List<InheritedSocket> inherited = config.inheritedSockets();
        for (int i = 0; i < fds.length; i++) {
            names.add(i < inherited.size() ? inherited.get(i).name() : null);
        }
        Handoff.offer(this, fds, names, path, offerTimeout, startTimeout, shutdownTimeout);
    }

    /**
     * Stops accepting new peers: their datagrams are refused (dropped and counted in
     * {@link ServerStats#droppedSuspended()}). Live sessions keep running: they receive, send and
     * time out as before. The socket stays bound, so the port does not change across
     * suspend/resume even when the config said port 0.
     */
    public void suspend() {
        engine.suspend(true);
    }

    /** Accepts new peers again after {@link #suspend()}. */
    public void resume() {
        engine.suspend(false);
    }

    /** {@return the counters summed over the acceptors; cheap, callable any time} */
    public ServerStats stats() {
        return new ServerStats(engine.counters(), engine.liveSessions());
    }

    /**
     * Sends {@code data} (its whole size) as one datagram to {@code peer} from the server's socket,
     * from any thread, without a session: the reply path of a {@link DatagramHandler} after its
     * callback ({@link Peer#remoteAddress()}). Queued to an acceptor like a session's cross-thread send.
     *
     * @param peer the destination
     * @param data the payload, 0..{@value Peer#MAX_PAYLOAD_IPV4} (IPv4) or {@value Peer#MAX_PAYLOAD_IPV6} bytes
     * @return {@link SendResult#OK}, {@link SendResult#FULL} when there is no room (counted as
     *         {@link SendResult#FULL} says), {@link SendResult#CLOSED} when the server stopped
     * @throws IllegalArgumentException when {@code peer} is not of the server's address family or
     *                                  {@code data} is larger than {@value Peer#MAX_PAYLOAD_IPV4} (IPv4) or {@value Peer#MAX_PAYLOAD_IPV6} bytes
     */
    public SendResult send(SocketAddress peer, MemorySegment data) {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(data, "data");
        return engine.send(peer, data, 0, data.byteSize());
    }

    // ---- socket options and multicast at run time (the reference's getopts / setopts)

    /**
     * Reads {@code option} from the live socket (the first acceptor's: every acceptor's socket has
     * the same options), as the reference's {@code getopts}. An option never set reads as the
     * kernel's default. {@link UdpOption#MULTICAST_INTERFACE} reads as what was last set (null if
     * never), {@link UdpOption#BIND_TO_DEVICE} as {@code ""} when unbound.
     *
     * @param option the option
     * @param <T>    its type
     * @return its value
     * @throws java.io.IOException           when the kernel refuses to say
     * @throws UnsupportedOperationException when the transport has no such option (NIO: see {@link UdpOption#onNio()})
     * @throws IllegalStateException         when the server stopped
     */
    public <T> T option(UdpOption<T> option) throws java.io.IOException {
        Objects.requireNonNull(option, "option");
        return engine.option(option);
    }

    /**
     * Sets {@code option} on every acceptor's live socket, as the reference's {@code setopts}: safe
     * while the acceptors run, and against a concurrent {@link #stop}. Options that decide how a
     * socket binds ({@link UdpOption#changeableAfterBind()} false: FREEBIND, BIND_TO_DEVICE; and the
     * network namespace) are refused. Should one socket refuse, the ones before it keep the value.
     *
     * @param option the option
     * @param value  its value
     * @param <T>    its type
     * @throws IllegalArgumentException      naming option and value when the value is invalid
     * @throws IllegalStateException         when the option cannot change after bind, or the server stopped
     * @throws UnsupportedOperationException when the transport has no such option (NIO)
     * @throws java.io.IOException           when the kernel refuses (EPERM: a capability is missing)
     */
    public <T> void setOption(UdpOption<T> option, T value) throws java.io.IOException {
        Objects.requireNonNull(option, "option");
        engine.setOption(option, value);
    }

    /**
     * {@return the socket options set, in the order first set: those of the config
     * ({@link ServerConfig.ListenOptions#options()}) with what {@link #setOption} changed since}
     */
    public java.util.Map<UdpOption<?>, Object> options() {
        return engine.optionsInForce();
    }

    /**
     * Every acceptor's socket joins {@code group} (the reference's {@code add_membership}). A
     * multicast datagram reaches the sockets of a SO_REUSEPORT group as README "Socket options"
     * describes. On a failure, the sockets that joined leave again.
     *
     * @param group the membership
     * @throws IllegalStateException    when it is joined already, or the server stopped
     * @throws IllegalArgumentException naming it for an unknown interface or a group the socket cannot join
     * @throws java.io.IOException      when the kernel refuses otherwise
     */
    public void joinGroup(MulticastGroup group) throws java.io.IOException {
        Objects.requireNonNull(group, "group");
        engine.joinGroup(group);
    }

    /**
     * {@link #joinGroup(MulticastGroup)} for every source.
     *
     * @param group         a multicast address
     * @param interfaceName the interface, or null for the one the route to the group names
     * @throws java.io.IOException when the kernel refuses
     */
    public void joinGroup(java.net.InetAddress group, String interfaceName) throws java.io.IOException {
        joinGroup(new MulticastGroup(group, interfaceName, null));
    }

    /**
     * {@link #joinGroup(MulticastGroup)} for one source only (source-specific multicast).
     *
     * @param group         a multicast address
     * @param interfaceName the interface, or null for the route's
     * @param source        the one source accepted
     * @throws java.io.IOException when the kernel refuses
     */
    public void joinGroup(java.net.InetAddress group, String interfaceName, java.net.InetAddress source) throws java.io.IOException {
        joinGroup(new MulticastGroup(group, interfaceName, Objects.requireNonNull(source, "source")));
    }

    /**
     * Every acceptor's socket leaves {@code group} (the reference's {@code drop_membership}).
     *
     * @param group a membership joined before, as it was joined
     * @throws IllegalStateException when it is not joined, or the server stopped
     * @throws java.io.IOException   when the kernel refuses
     */
    public void leaveGroup(MulticastGroup group) throws java.io.IOException {
        Objects.requireNonNull(group, "group");
        engine.leaveGroup(group);
    }

    /**
     * {@link #leaveGroup(MulticastGroup)} of an any-source membership.
     *
     * @param group         the group
     * @param interfaceName the interface it was joined on, or null
     * @throws java.io.IOException when the kernel refuses
     */
    public void leaveGroup(java.net.InetAddress group, String interfaceName) throws java.io.IOException {
        leaveGroup(new MulticastGroup(group, interfaceName, null));
    }

    /**
     * {@link #leaveGroup(MulticastGroup)} of a source-specific membership.
     *
     * @param group         the group
     * @param interfaceName the interface it was joined on, or null
     * @param source        its source
     * @throws java.io.IOException when the kernel refuses
     */
    public void leaveGroup(java.net.InetAddress group, String interfaceName, java.net.InetAddress source) throws java.io.IOException {
        leaveGroup(new MulticastGroup(group, interfaceName, Objects.requireNonNull(source, "source")));
    }

    /** {@return the multicast groups every acceptor's socket is a member of now} */
    public java.util.List<MulticastGroup> groups() {
        return engine.groups();
    }

    /** {@return the number of live sessions} */
    public int sessions() {
        return engine.sessions();
    }

    /**
     * The live session of {@code peer}.
     *
     * @param peer a remote address
     * @return its session, or null
     */
    public Session session(SocketAddress peer) {
        return engine.session(peer);
    }

    /**
     * Calls {@code action} for every live session (weakly consistent: sessions may come and go meanwhile).
     *
     * @param action called once per session
     */
    public void forEachSession(java.util.function.Consumer<? super Session> action) {
        engine.forEachSession(action);
    }

    /**
     * Why the server stopped by itself, if it did: an acceptor whose duty cycle failed more than
     * three times within a minute (each failure is logged and the acceptor resumes until then)
     * stops the whole server, so no socket is left without a reader.
     *
     * @return the failure; empty while it runs normally and after a regular stop
     */
    public java.util.Optional<Throwable> failure() {
        return java.util.Optional.ofNullable(engine.failure());
    }

    /** {@return true once the server stopped, by {@link #stop(Duration)} or by itself} */
    public boolean isStopped() {
        return engine.isStopped();
    }

    /** {@link #stop(Duration)} with the configured shutdownTimeout. */
    @Override
    public void close() {
        stop(config.timeouts().shutdownTimeout());
    }

    @Override
    public String toString() {
        java.util.Map<UdpOption<?>, Object> options = options();
        java.util.List<MulticastGroup> groups = groups();
        StringBuilder listen = new StringBuilder();
        options.forEach((k, v) -> listen.append(", ").append(k).append('=').append(UdpOption.describe(v)));
        if (!groups.isEmpty()) {
            listen.append(", groups=").append(groups);
        }
        if (config.listen().netns() != null) {
            listen.append(", netns=").append(config.listen().netns());
        }
        return "Server[" + localAddress() + ", " + transport() + ", sessions=" + sessions() + listen + "]";
    }
}
