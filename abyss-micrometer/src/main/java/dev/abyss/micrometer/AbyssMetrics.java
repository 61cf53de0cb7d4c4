package dev.abyss.micrometer;

import dev.abyss.server.Server;
import dev.abyss.server.ServerStats;
import dev.abyss.server.ServerStats.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A {@link MeterBinder} for a {@link Server}: every {@link ServerStats.Counter} as a Micrometer
 * {@link FunctionCounter}, and the live sessions as a {@link Gauge}, read from {@link Server#stats()}
 * when the registry is scraped. The server counts as it always does; nothing is added per datagram.
 *
 * <pre>{@code
 * Server server = Abyss.start(config);
 * AbyssMetrics metrics = AbyssMetrics.of(server, "game");
 * metrics.bindTo(registry);
 * }</pre>
 *
 * <p>Meter names follow Micrometer's conventions (dot-separated, base units), each with the tags
 * {@code server} (the given name), {@code transport} ({@code epoll}, {@code io_uring} or
 * {@code nio}) and the extra tags given:
 * <ul>
 * <li>{@code abyss.datagrams.received}, {@code abyss.datagrams.sent};
 *     {@code abyss.bytes.received}, {@code abyss.bytes.sent} (base unit bytes): payload;</li>
 * <li>{@code abyss.drops}, one meter per cause in the tag {@code cause}: {@code table_full},
 *     {@code mailbox_full}, {@code post_queue_full}, {@code suspended}, {@code session_ended},
 *     {@code truncated}, {@code send_queue_full}, {@code send_batch_full}, {@code send_error},
 *     {@code kernel} (the socket's receive buffer overflowed);</li>
 * <li>{@code abyss.sessions.opened}, {@code abyss.sessions.closed}, {@code abyss.sessions.evicted},
 *     {@code abyss.sessions.unreachable}, and the gauge {@code abyss.sessions.live};</li>
 * <li>{@code abyss.receive.errors}, {@code abyss.receive.pauses}, {@code abyss.handler.errors},
 *     {@code abyss.acceptor.failures}, {@code abyss.icmp.unreachable}, {@code abyss.icmp.unreachable.forged};</li>
 * <li>{@code abyss.gso.sends}, {@code abyss.gso.segments}, {@code abyss.gro.receives},
 *     {@code abyss.gro.segments}: the offloads at work.</li>
 * </ul>
 * Each counter's meaning is its {@link ServerStats.Counter}'s.
 *
 * <p>One {@link Server#stats()} snapshot serves the meters of one scrape: it is taken anew when a
 * meter is read a second time, or when it is older than {@link #SNAPSHOT_MAX_AGE}, so the figures
 * of one scrape are consistent with each other.
 *
 * <p>The meters are removed from every registry they were bound to when the server stops, or on
 * {@link #close()}. Thread-safe.
 */
public final class AbyssMetrics implements MeterBinder, AutoCloseable {
    /** How long one stats snapshot may serve the meters that were not read yet. */
    public static final Duration SNAPSHOT_MAX_AGE = Duration.ofSeconds(1);
    /** How often the server is looked at to remove the meters once it stopped (it has no stop callback). */
    private static final Duration STOP_POLL = Duration.ofMillis(100);
    /** The live-sessions gauge's place in {@link #readFromSnapshot}, after the counters' ordinals. */
    private static final int LIVE_SESSIONS_INDEX = Counter.values().length;

    /** What a counter is exposed as: a meter name, and the cause tag of a drop (or null). */
    record MeterId(String name, String cause, String baseUnit, String description) {
    }

    private final Server server;
    private final Tags tags;
    private final List<Bound> bound = new ArrayList<>();
    private Thread stopWatch;
    private boolean closed;

    // the snapshot of the current scrape, and which meters read it already (by Counter ordinal; the gauge last)
    private ServerStats snapshot;
    private long snapshotNanos;
    private final boolean[] readFromSnapshot = new boolean[LIVE_SESSIONS_INDEX + 1];

    private record Bound(MeterRegistry registry, List<Meter> meters) {
    }

    /**
     * Meters for {@code server}, tagged {@code server=name}.
     *
     * @param server the server to expose
     * @param name   the {@code server} tag: which of the application's servers this is
     * @return the binder; {@link #bindTo} it to a registry
     */
    public static AbyssMetrics of(Server server, String name) {
        return new AbyssMetrics(server, Tags.of("server", name));
    }

    /**
     * Meters for {@code server} with the given tags (a {@code server} tag among them by convention),
     * plus {@code transport}.
     *
     * @param server the server to expose
     * @param tags   tags added to every meter
     */
    public AbyssMetrics(Server server, Iterable<Tag> tags) {
        this.server = Objects.requireNonNull(server, "server");
        this.tags = Tags.of(tags).and("transport", server.transport().name().toLowerCase(Locale.ROOT));
    }

    /**
     * What {@code counter} is exposed as. An exhaustive switch: a counter added to
     * {@link ServerStats.Counter} does not compile until it is given a meter here.
     */
    static MeterId meterOf(Counter counter) {
        return switch (counter) {
            case DATAGRAMS_IN -> counter("abyss.datagrams.received", null, "Datagrams received from the kernel, dropped ones included");
            case BYTES_IN -> counter("abyss.bytes.received", BaseUnits.BYTES, "Payload bytes received");
            case DATAGRAMS_OUT -> counter("abyss.datagrams.sent", null, "Datagrams the kernel accepted for sending");
            case BYTES_OUT -> counter("abyss.bytes.sent", BaseUnits.BYTES, "Payload bytes the kernel accepted for sending");
            case SESSIONS_OPENED -> counter("abyss.sessions.opened", null, "Sessions created");
            case SESSIONS_CLOSED -> counter("abyss.sessions.closed", null, "Sessions ended, for any reason");
            case DROPPED_TABLE_FULL -> drop("table_full");
            case DROPPED_MAILBOX_FULL -> drop("mailbox_full");
            case POST_QUEUE_FULL -> drop("post_queue_full");
            case DROPPED_SUSPENDED -> drop("suspended");
            case DROPPED_SESSION_ENDED -> drop("session_ended");
            case TRUNCATED -> drop("truncated");
            case SEND_QUEUE_FULL -> drop("send_queue_full");
            case SEND_BATCH_FULL -> drop("send_batch_full");
            case SEND_ERRORS -> drop("send_error");
            case KERNEL_DROPS -> drop("kernel");
            case RECEIVE_ERRORS -> counter("abyss.receive.errors", null, "Receives that failed (not pauses); the acceptor goes on");
            case RECEIVE_PAUSES -> counter("abyss.receive.pauses", null, "Times the transport stopped reading for a moment, losing nothing");
            case HANDLER_ERRORS -> counter("abyss.handler.errors", null, "Sessions ended in error by their handler");
            case ACCEPTOR_FAILURES -> counter("abyss.acceptor.failures", null, "Acceptor duty-cycle failures it survived");
            case UNREACHABLE -> counter("abyss.icmp.unreachable", null, "ICMP unreachable errors about peers");
            case SESSIONS_UNREACHABLE -> counter("abyss.sessions.unreachable", null, "Sessions ended because their peer's port was unreachable");
            case UNREACHABLE_FORGED -> counter("abyss.icmp.unreachable.forged", null,
                    "ICMP port unreachable errors not believed: their quote matched nothing sent to the peer");
            case EVICTED -> counter("abyss.sessions.evicted", null, "Sessions ended to make room for a new peer in a full table");
            case GSO_SENDS -> counter("abyss.gso.sends", null, "Kernel sends that carried several datagrams as UDP_SEGMENT segments");
            case GSO_SEGMENTS -> counter("abyss.gso.segments", null, "Datagrams sent as segments of a GSO send");
            case GRO_RECEIVES -> counter("abyss.gro.receives", null, "Coalesced receives (UDP_GRO) split into their datagrams");
            case GRO_SEGMENTS -> counter("abyss.gro.segments", null, "Datagrams delivered from a GRO receive");
            case RATE_LIMITED -> drop("rate_limited");
            case AMPLIFICATION_LIMITED -> drop("amplification_limited");
            case PREFIX_QUOTA -> counter("abyss.sessions.prefix_quota", null,
                    "New peers that met their source prefix's session quota (dropped, or in place of the prefix's oldest session)");
            case DTLS_HANDSHAKES_COMPLETED -> counter("abyss.dtls.handshakes", null, "DTLS handshakes completed");
            case DTLS_HANDSHAKES_TIMED_OUT -> dtlsFailure("timeout");
            case DTLS_HANDSHAKES_FAILED_CERTIFICATE -> dtlsFailure("certificate");
            case DTLS_HANDSHAKES_FAILED_ALERT -> dtlsFailure("alert");
            case DTLS_HANDSHAKES_FAILED_OTHER -> dtlsFailure("other");
            case DTLS_HANDSHAKES_BUSY -> counter("abyss.dtls.handshakes.busy", null, "ClientHellos dropped at maxHandshakes in progress");
            case DTLS_COOKIES_SENT -> counter("abyss.dtls.cookies.sent", null, "HelloVerifyRequests sent statelessly");
            case DTLS_HELLOS_DROPPED -> counter("abyss.dtls.hellos.dropped", null, "ClientHellos dropped before any state");
            case DTLS_STRANGERS_DROPPED -> counter("abyss.dtls.strangers.dropped", null, "Datagrams from unknown peers that were no ClientHello");
            case DTLS_RECORDS_BAD_MAC -> dtlsRecord("bad_mac");
            case DTLS_RECORDS_REPLAYED -> dtlsRecord("replayed");
            case DTLS_RECORDS_WRONG_EPOCH -> dtlsRecord("wrong_epoch");
            case DTLS_RECORDS_MALFORMED -> dtlsRecord("malformed");
            case DTLS_RENEGOTIATIONS_REFUSED -> counter("abyss.dtls.renegotiations.refused", null, "Renegotiations refused");
            case XDP_FRAMES_REFUSED -> drop("xdp_frame_refused");
            case XDP_SOCKET_SENDS -> counter("abyss.xdp.socket.sends", null,
                    "Datagrams the AF_XDP transport sent through its bound socket instead of a frame");
            case XDP_HOPS_CONTESTED -> counter("abyss.xdp.hops.contested", null,
                    "AF_XDP frames whose next hop differed from their peer's live one: not learned");
        };
    }

    private static MeterId counter(String name, String baseUnit, String description) {
        return new MeterId(name, null, baseUnit, description);
    }

    private static MeterId dtlsFailure(String cause) {
        return new MeterId("abyss.dtls.handshakes.failed", cause, null, "DTLS handshakes failed, by cause");
    }

    private static MeterId dtlsRecord(String cause) {
        return new MeterId("abyss.dtls.records.rejected", cause, null, "DTLS records dropped, by cause");
    }

    /** Every drop cause is one meter name, so that their sum is what was lost. */
    private static MeterId drop(String cause) {
        return new MeterId("abyss.drops", cause, null, "Datagrams or messages dropped, by cause");
    }

    /**
     * Registers the meters in {@code registry}. May be called for several registries; the meters
     * leave all of them when the server stops or this binder is closed. Binding after that
     * registers nothing.
     */
    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        if (closed || server.isStopped()) {
            return;
        }
        List<Meter> meters = new ArrayList<>();
        for (Counter c : EnumSet.allOf(Counter.class)) {
            MeterId id = meterOf(c);
            Tags meterTags = id.cause() == null ? tags : tags.and("cause", id.cause());
            meters.add(FunctionCounter.builder(id.name(), this, m -> m.read(c.ordinal()).get(c))
                    .tags(meterTags).baseUnit(id.baseUnit()).description(id.description()).register(registry));
        }
        meters.add(Gauge.builder("abyss.sessions.live", this, m -> m.read(LIVE_SESSIONS_INDEX).sessionsLive())
                .tags(tags).baseUnit(BaseUnits.SESSIONS).description("Sessions alive: opened minus closed").register(registry));
        bound.add(new Bound(registry, meters));
        if (stopWatch == null) {
            stopWatch = Thread.ofVirtual().name("abyss-metrics-stop-watch").start(this::removeWhenStopped);
        }
    }

    /** The snapshot for the meter at {@code index}: the current one unless that meter read it already, or it is old. */
    private synchronized ServerStats read(int index) {
        long now = System.nanoTime();
        if (snapshot == null || readFromSnapshot[index] || now - snapshotNanos > SNAPSHOT_MAX_AGE.toNanos()) {
            snapshot = server.stats();
            snapshotNanos = now;
            Arrays.fill(readFromSnapshot, false);
        }
        readFromSnapshot[index] = true;
        return snapshot;
    }

    private void removeWhenStopped() {
        try {
            while (!server.isStopped()) {
                synchronized (this) {
                    if (closed) {
                        return;
                    }
                }
                Thread.sleep(STOP_POLL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return; // nobody interrupts it; if something does, close() still removes the meters
        }
        close();
    }

    /** Removes the meters from every registry they were bound to. Idempotent. */
    @Override
    public void close() {
        List<Bound> unbind;
        synchronized (this) {
            closed = true;
            unbind = List.copyOf(bound);
            bound.clear();
        }
        // outside this binder's lock, which a scrape takes while the registry may hold its own
        for (Bound b : unbind) {
            b.meters().forEach(b.registry()::remove);
        }
    }
}
