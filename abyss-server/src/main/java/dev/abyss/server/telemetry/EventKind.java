package dev.abyss.server.telemetry;

/**
 * Every telemetry event Abyss can emit, with its name. Internal to Abyss apart from
 * {@link #eventName()}: the engine asks {@link #enabled()} (one volatile field read) before it
 * builds an event, so an event nobody listens to costs nothing more.
 */
public enum EventKind {
    /** The server started listening. */
    LISTENER_START("abyss.listener.start"),
    /** The server stopped. */
    LISTENER_STOP("abyss.listener.stop"),
    /** An acceptor thread started. */
    ACCEPTOR_START("abyss.acceptor.start"),
    /** An acceptor thread stopped. */
    ACCEPTOR_STOP("abyss.acceptor.stop"),
    /** A datagram from a new peer was dropped: the session table stayed full through every retry. */
    ACCEPTOR_SPAWN_ERROR("abyss.acceptor.spawn_error"),
    /**
     * The kernel dropped datagrams meant for an acceptor's socket (full receive buffer: SO_RXQ_OVFL;
     * io_uring: completions lost to a CQ overflow). Measurements: {@code count} (new drops since the
     * last report), {@code total} (the acceptor's so far). An Abyss addition: the original has none.
     */
    ACCEPTOR_KERNEL_DROPS("abyss.acceptor.kernel_drops"),
    /** TCP only in the original (a connection reset before accept); UDP has no accept, never emitted. */
    ACCEPTOR_ECONNABORTED("abyss.acceptor.econnaborted"),
    /** A session started: a new peer's first datagram. */
    CONNECTION_START("abyss.connection.start"),
    /** A session ended, for any reason (in the metadata). */
    CONNECTION_STOP("abyss.connection.stop"),
    /** handleConnection continued: the session is set up. */
    CONNECTION_READY("abyss.connection.ready"),
    /** A datagram handed to an INLINE handler on the receiving thread. */
    CONNECTION_RECV("abyss.connection.recv"),
    /** A datagram handed to a VIRTUAL_THREADS handler, received earlier by the acceptor. */
    CONNECTION_ASYNC_RECV("abyss.connection.async_recv"),
    /** A datagram from this peer could not be read whole (larger than maxDatagramSize). */
    CONNECTION_RECV_ERROR("abyss.connection.recv_error"),
    /** The kernel took a datagram for the peer. */
    CONNECTION_SEND("abyss.connection.send"),
    /** The kernel refused a datagram for the peer (e.g. ECONNREFUSED, ENOENT). */
    CONNECTION_SEND_ERROR("abyss.connection.send_error"),
    /** No UDP counterpart (there is no sendfile for datagrams): never emitted. */
    CONNECTION_SENDFILE("abyss.connection.sendfile"),
    /** No UDP counterpart: never emitted. */
    CONNECTION_SENDFILE_ERROR("abyss.connection.sendfile_error"),
    /** The application closed the session with {@code Session.close()}. */
    CONNECTION_SOCKET_SHUTDOWN("abyss.connection.socket_shutdown");

    private final String eventName;
    private volatile TelemetryListener[] listeners = Flags.NONE;

    EventKind(String eventName) {
        this.eventName = eventName;
    }

    /** {@return the event's name, e.g. {@code "abyss.connection.start"}} */
    public String eventName() {
        return eventName;
    }

    /** {@return true when at least one listener is attached: build the event only then} */
    public boolean enabled() {
        return !Flags.REMOVED && listeners.length != 0;
    }

    TelemetryListener[] listeners() {
        return listeners;
    }

    void listeners(TelemetryListener[] l) {
        listeners = l;
    }

    /** Constants an enum's instance initializers may read. */
    private static final class Flags {
        static final TelemetryListener[] NONE = new TelemetryListener[0];
        /**
         * {@code -Dabyss.telemetry.removed=true}: every {@link #enabled()} is a constant false the JIT
         * folds away, as if telemetry had not been built in (the baseline of the telemetry benchmark).
         */
        static final boolean REMOVED = Boolean.getBoolean("abyss.telemetry.removed");
    }
}
