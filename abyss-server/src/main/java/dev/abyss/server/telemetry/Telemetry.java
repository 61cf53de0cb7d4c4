package dev.abyss.server.telemetry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Telemetry of every Abyss server in this JVM: the listener, acceptor and connection spans and
 * events of the Elixir original (see {@link EventKind} for the list), delivered to listeners you
 * attach by event name or name prefix. Thread-safe, callable while servers run. With nothing
 * attached to an event, the data path does not build it.
 *
 * <pre>{@code
 * Telemetry.attach("my-metrics", List.of("abyss.connection.stop"), e ->
 *         histogram.record((long) e.measurements().get("duration")));
 * }</pre>
 *
 * <p>Spans: every event carries {@code telemetry_span_context} (a long unique in this JVM);
 * acceptor events also {@code parent_telemetry_span_context} (their listener's), and connection
 * start/stop the acceptor's. Durations and {@code monotonic_time} are {@link System#nanoTime()}
 * nanoseconds.
 */
public final class Telemetry {
    private static final Logger LOG = LoggerFactory.getLogger(Telemetry.class);
    private static final AtomicLong SPAN_CONTEXTS = new AtomicLong();
    private static final Map<String, Attachment> ATTACHED = new LinkedHashMap<>();

    private record Attachment(String id, List<EventKind> kinds, TelemetryListener listener, TelemetryListener guarded) {
    }

    private Telemetry() {
    }

    /**
     * Attaches {@code listener} under {@code id} to every event whose name equals or starts with one
     * of {@code events} (e.g. {@code "abyss.connection"} for every connection event, or {@code "abyss"}).
     *
     * @param id       a name for this attachment, unique among attached ones
     * @param events   event names or name prefixes
     * @param listener receives the events
     * @throws IllegalArgumentException when {@code id} is already attached, or an entry matches no event
     */
    public static void attach(String id, Collection<String> events, TelemetryListener listener) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(listener, "listener");
        List<EventKind> kinds = new ArrayList<>();
        for (String e : events) {
            boolean matched = false;
            for (EventKind k : EventKind.values()) {
                if (k.eventName().equals(e) || k.eventName().startsWith(e + ".")) {
                    matched = true;
                    if (!kinds.contains(k)) {
                        kinds.add(k);
                    }
                }
            }
            if (!matched) {
                throw new IllegalArgumentException("no telemetry event is named or starts with '" + e + "'");
            }
        }
        synchronized (ATTACHED) {
            if (ATTACHED.containsKey(id)) {
                throw new IllegalArgumentException("a telemetry listener is already attached as '" + id + "'");
            }
            TelemetryListener guarded = event -> {
                try {
                    listener.handle(event);
                } catch (Throwable t) {
                    LOG.error("telemetry listener '{}' threw on {}; detached", id, event.name(), t);
                    detach(id);
                }
            };
            ATTACHED.put(id, new Attachment(id, List.copyOf(kinds), listener, guarded));
            republish();
        }
    }

    /**
     * {@link #attach(String, Collection, TelemetryListener)} for one event name or prefix.
     *
     * @param id       a name for this attachment, unique among attached ones
     * @param event    an event name or name prefix
     * @param listener receives the events
     * @throws IllegalArgumentException when {@code id} is already attached, or {@code event} matches no event
     */
    public static void attach(String id, String event, TelemetryListener listener) {
        attach(id, List.of(event), listener);
    }

    /**
     * Detaches the listener attached as {@code id}.
     *
     * @param id the attachment's name
     * @return false when there is none
     */
    public static boolean detach(String id) {
        synchronized (ATTACHED) {
            if (ATTACHED.remove(id) == null) {
                return false;
            }
            republish();
            return true;
        }
    }

    /**
     * Whether a listener is attached as {@code id}.
     *
     * @param id the attachment's name
     * @return true when attached
     */
    public static boolean isAttached(String id) {
        synchronized (ATTACHED) {
            return ATTACHED.containsKey(id);
        }
    }

    private static void republish() {
        for (EventKind k : EventKind.values()) {
            List<TelemetryListener> l = new ArrayList<>();
            for (Attachment a : ATTACHED.values()) {
                if (a.kinds().contains(k)) {
                    l.add(a.guarded());
                }
            }
            k.listeners(l.toArray(TelemetryListener[]::new));
        }
    }

    /** The engine's way in: installed when this class loads, reachable only inside the module. */
    private static final class Internal extends dev.abyss.server.telemetry.spi.Emitter {
        static void install() {
            dev.abyss.server.telemetry.spi.Emitter.install(new Internal());
        }

        @Override
        public long newSpanContext() {
            return SPAN_CONTEXTS.incrementAndGet();
        }

        @Override
        public void emit(EventKind kind, Map<String, Object> measurements, Map<String, Object> metadata) {
            TelemetryListener[] listeners = kind.listeners();
            if (listeners.length == 0) {
                return;
            }
            TelemetryEvent event = new TelemetryEvent(kind.eventName(), measurements, metadata);
            for (TelemetryListener l : listeners) {
                l.handle(event);
            }
        }
    }

    static {
        Internal.install();
    }
}
