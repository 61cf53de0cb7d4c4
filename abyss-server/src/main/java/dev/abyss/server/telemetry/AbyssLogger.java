package dev.abyss.server.telemetry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Logs Abyss's telemetry events through SLF4J (logger {@code dev.abyss.server.telemetry.AbyssLogger}),
 * the Java form of {@code Abyss.Logger.attach_logger/1} and {@code detach_logger/1}:
 * <ul>
 *   <li>{@link Level#ERROR}: acceptor spawn_error and econnaborted;</li>
 *   <li>{@link Level#INFO}: listener start and stop;</li>
 *   <li>{@link Level#DEBUG}: acceptor and connection start and stop;</li>
 *   <li>{@link Level#TRACE}: every other connection event: ready, recv, async_recv, recv_error,
 *       send, send_error, socket_shutdown (and the never-emitted sendfile ones).</li>
 * </ul>
 * Attaching a level also attaches every higher one; detaching a level also detaches every lower
 * one. Each level logs at the SLF4J level of the same name, so the SLF4J provider's configuration
 * must let it through too.
 */
public final class AbyssLogger {
    private static final Logger LOG = LoggerFactory.getLogger(AbyssLogger.class);
    private static final int PREVIEW = 48;

    /** Log levels, from the highest (fewest events) to the lowest. */
    public enum Level {
        /** Spawn errors: datagrams of new peers dropped because the table stayed full. */
        ERROR(List.of(EventKind.ACCEPTOR_SPAWN_ERROR, EventKind.ACCEPTOR_ECONNABORTED)),
        /** The listener's start and stop. */
        INFO(List.of(EventKind.LISTENER_START, EventKind.LISTENER_STOP)),
        /**
         * Acceptors' start and stop, sessions' start and stop, kernel drops (each report: a flood
         * makes many, so not at a higher level; {@code stats().kernelDrops()} counts them all).
         */
        DEBUG(List.of(EventKind.ACCEPTOR_START, EventKind.ACCEPTOR_STOP, EventKind.ACCEPTOR_KERNEL_DROPS,
                EventKind.CONNECTION_START, EventKind.CONNECTION_STOP)),
        /** Every datagram received and sent, and every session event. */
        TRACE(List.of(EventKind.CONNECTION_READY, EventKind.CONNECTION_RECV, EventKind.CONNECTION_ASYNC_RECV,
                EventKind.CONNECTION_RECV_ERROR, EventKind.CONNECTION_SEND, EventKind.CONNECTION_SEND_ERROR,
                EventKind.CONNECTION_SENDFILE, EventKind.CONNECTION_SENDFILE_ERROR, EventKind.CONNECTION_SOCKET_SHUTDOWN));

        private final List<EventKind> events;

        Level(List<EventKind> events) {
            this.events = events;
        }

        /** {@return the events this level logs (not counting the higher levels)} */
        public List<EventKind> events() {
            return events;
        }

        String attachmentId() {
            return "abyss-logger-" + name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private AbyssLogger() {
    }

    /**
     * Starts logging at {@code level} and every higher level.
     *
     * @param level the lowest level to log
     * @return false when {@code level} was already attached ({@code {:error, :already_exists}})
     */
    public static synchronized boolean attach(Level level) {
        boolean was = Telemetry.isAttached(level.attachmentId());
        for (Level l : Level.values()) {
            if (l.ordinal() <= level.ordinal() && !Telemetry.isAttached(l.attachmentId())) {
                Telemetry.attach(l.attachmentId(), l.events().stream().map(EventKind::eventName).toList(), e -> log(l, e));
            }
        }
        return !was;
    }

    /**
     * Stops logging at {@code level} and every lower level.
     *
     * @param level the highest level to stop
     * @return false when {@code level} was not attached ({@code {:error, :not_found}})
     */
    public static synchronized boolean detach(Level level) {
        boolean was = Telemetry.isAttached(level.attachmentId());
        for (Level l : Level.values()) {
            if (l.ordinal() >= level.ordinal()) {
                Telemetry.detach(l.attachmentId());
            }
        }
        return was;
    }

    /**
     * Whether {@code level} is attached.
     *
     * @param level a level
     * @return true when it logs
     */
    public static boolean isAttached(Level level) {
        return Telemetry.isAttached(level.attachmentId());
    }

    private static void log(Level level, TelemetryEvent e) {
        switch (level) {
            case ERROR -> {
                if (LOG.isErrorEnabled()) {
                    LOG.error(format(e));
                }
            }
            case INFO -> {
                if (LOG.isInfoEnabled()) {
                    LOG.info(format(e));
                }
            }
            case DEBUG -> {
                if (LOG.isDebugEnabled()) {
                    LOG.debug(format(e));
                }
            }
            case TRACE -> {
                if (LOG.isTraceEnabled()) {
                    LOG.trace(format(e));
                }
            }
        }
    }

    /** "abyss.connection.recv span=7 bytes=5 data="hello"": the name, then metadata and measurements. */
    static String format(TelemetryEvent e) {
        StringBuilder b = new StringBuilder(e.name());
        Object span = e.metadata().get("telemetry_span_context");
        if (span != null) {
            b.append(" span=").append(span);
        }
        Object parent = e.metadata().get("parent_telemetry_span_context");
        if (parent != null) {
            b.append(" parent=").append(parent);
        }
        append(b, e.metadata(), "telemetry_span_context", "parent_telemetry_span_context");
        append(b, e.measurements(), "monotonic_time");
        return b.toString();
    }

    private static void append(StringBuilder b, Map<String, Object> m, String... skip) {
        for (Map.Entry<String, Object> en : new java.util.TreeMap<>(m).entrySet()) {
            if (List.of(skip).contains(en.getKey())) {
                continue;
            }
            b.append(' ').append(en.getKey()).append('=');
            if (en.getValue() instanceof MemorySegment data) {
                b.append(preview(data));
            } else if (en.getValue() instanceof java.net.InetAddress a) {
                b.append(a.getHostAddress());
            } else {
                b.append(en.getValue());
            }
        }
    }

    private static String preview(MemorySegment data) {
        int n = (int) Math.min(PREVIEW, data.byteSize());
        byte[] bytes = data.asSlice(0, n).toArray(JAVA_BYTE);
        StringBuilder s = new StringBuilder("\"");
        for (byte x : bytes) {
            s.append(x >= 0x20 && x < 0x7f && x != '"' && x != '\\' ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xff));
        }
        s.append('"');
        if (data.byteSize() > n) {
            s.append("...");
        }
        return s.toString();
    }
}
