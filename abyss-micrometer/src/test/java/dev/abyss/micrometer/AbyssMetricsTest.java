package dev.abyss.micrometer;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.ServerStats.Counter;
import dev.abyss.server.examples.Echo;
import dev.abyss.testsupport.Await;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real server on loopback, a real exchange, and the meters against {@link Server#stats()}. */
class AbyssMetricsTest {
    static final int DATAGRAMS = 20;
    static final int PAYLOAD = 100;
    static final int PEERS = 2;

    @Test
    void everyCounterHasItsOwnMeter() {
        Set<AbyssMetrics.MeterId> ids = new HashSet<>();
        for (Counter c : Counter.values()) {
            assertTrue(ids.add(AbyssMetrics.meterOf(c)), c + " shares its meter with another counter");
            assertTrue(AbyssMetrics.meterOf(c).name().startsWith("abyss."), c.name());
        }
    }

    @Test
    void simpleRegistryHasEveryCounterEqualToStatsAndLosesThemOnStop() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Server server = startEcho();
        try {
            AbyssMetrics.of(server, "test").bindTo(registry);
            exchange(server);
            ServerStats stats = server.stats();
            for (Counter c : Counter.values()) {
                FunctionCounter meter = find(registry, c).functionCounter();
                assertNotNull(meter, c + ": no meter");
                assertEquals(stats.get(c), (long) meter.count(), c.name());
            }
            Gauge live = registry.find("abyss.sessions.live").tag("server", "test").gauge();
            assertNotNull(live);
            assertEquals(PEERS, (long) live.value());
            assertEquals(DATAGRAMS * PAYLOAD, (long) registry.get("abyss.bytes.received").functionCounter().count());
            assertEquals(server.transport().name().toLowerCase(Locale.ROOT),
                    registry.get("abyss.datagrams.received").meter().getId().getTag("transport"));
        } finally {
            server.close();
        }
        Await.await("every meter removed after stop", registry::getMeters, List::isEmpty);
    }

    @Test
    void prometheusScrapeEqualsStats() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Server server = startEcho();
        try (AbyssMetrics metrics = AbyssMetrics.of(server, "test")) {
            metrics.bindTo(registry);
            exchange(server);
            String text = registry.scrape();
            ServerStats stats = server.stats();
            Map<String, Long> scraped = parse(text);
            for (Counter c : Counter.values()) {
                String key = prometheusKey(registry, c);
                assertEquals(stats.get(c), scraped.get(key), key + " in\n" + text);
            }
            assertEquals(PEERS, scraped.get("abyss_sessions_live_sessions"), text);
            assertEquals(DATAGRAMS, scraped.get("abyss_datagrams_received_total"), text);
            assertEquals(DATAGRAMS * PAYLOAD, scraped.get("abyss_bytes_received_bytes_total"), text);
            assertTrue(text.contains("transport=\"" + server.transport().name().toLowerCase(Locale.ROOT) + "\""), text);
        } finally {
            server.close();
        }
        assertTrue(registry.getMeters().isEmpty(), "closing the binder removes its meters");
        assertTrue(!registry.scrape().contains("abyss_"), registry.scrape());
    }

    @Test
    void aMeterReadAgainStartsANewScrape() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Server server = startEcho(); AbyssMetrics metrics = AbyssMetrics.of(server, "test")) {
            metrics.bindTo(registry);
            assertEquals(0, (long) registry.get("abyss.datagrams.received").functionCounter().count());
            exchange(server);
            // read a second time: a new snapshot, which the other meters of this scrape then share
            assertEquals(DATAGRAMS, (long) registry.get("abyss.datagrams.received").functionCounter().count());
            assertEquals(DATAGRAMS * PAYLOAD, (long) registry.get("abyss.bytes.received").functionCounter().count());
        }
    }

    static Server startEcho() throws Exception {
        return Abyss.start(ServerConfig.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0)
                .numAcceptors(1).handler(new Echo()).build());
    }

    /** {@link #PEERS} clients, {@link #DATAGRAMS} datagrams of {@link #PAYLOAD} bytes in all, every echo received. */
    static void exchange(Server server) throws Exception {
        int port = ((java.net.InetSocketAddress) server.localAddress()).getPort();
        InetAddress loopback = InetAddress.getLoopbackAddress();
        for (int p = 0; p < PEERS; p++) {
            try (DatagramSocket client = new DatagramSocket(0, loopback)) {
                client.setSoTimeout(5000);
                byte[] payload = new byte[PAYLOAD];
                Arrays.fill(payload, (byte) ('a' + p));
                byte[] reply = new byte[PAYLOAD * 2];
                for (int i = 0; i < DATAGRAMS / PEERS; i++) {
                    client.send(new DatagramPacket(payload, PAYLOAD, loopback, port));
                    DatagramPacket in = new DatagramPacket(reply, reply.length);
                    client.receive(in);
                    assertEquals(PAYLOAD, in.getLength());
                }
            }
        }
        Await.await("every echo counted as sent", server::stats, s -> s.datagramsOut() == DATAGRAMS);
    }

    private static Search find(MeterRegistry registry, Counter c) {
        AbyssMetrics.MeterId id = AbyssMetrics.meterOf(c);
        Search s = registry.find(id.name()).tag("server", "test");
        return id.cause() == null ? s : s.tag("cause", id.cause());
    }

    /** The name Prometheus shows for {@code c}'s meter, with its cause label if it has one. */
    private static String prometheusKey(PrometheusMeterRegistry registry, Counter c) {
        AbyssMetrics.MeterId id = AbyssMetrics.meterOf(c);
        String name = registry.config().namingConvention().name(id.name(), io.micrometer.core.instrument.Meter.Type.COUNTER, id.baseUnit());
        name = name.endsWith("_total") ? name : name + "_total";
        return id.cause() == null ? name : name + "|" + id.cause();
    }

    /** Prometheus text: "name{labels} value" lines to name (with "|cause" when labelled with one) to value. */
    static Map<String, Long> parse(String text) {
        Map<String, Long> values = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            String name = line.substring(0, brace < 0 ? space : brace);
            java.util.regex.Matcher cause = java.util.regex.Pattern.compile("cause=\"([^\"]*)\"").matcher(line);
            String key = cause.find() ? name + "|" + cause.group(1) : name;
            values.put(key, (long) Double.parseDouble(line.substring(space + 1)));
        }
        return values;
    }
}
