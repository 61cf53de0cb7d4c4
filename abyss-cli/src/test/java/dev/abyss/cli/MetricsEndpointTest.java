package dev.abyss.cli;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.examples.StatelessEcho;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's /metrics and /health over real HTTP (the JDK's HttpClient, and curl where installed) against a real server. */
class MetricsEndpointTest {
    static final int DATAGRAMS = 12;
    static final int PAYLOAD = 64;

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void metricsShowTheExchangeAndHealthIsOkUntilStopping() throws Exception {
        Server server = Abyss.start(ServerConfig.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0)
                .numAcceptors(1).datagramHandler(new StatelessEcho()).build());
        try (MetricsEndpoint endpoint = MetricsEndpoint.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            String base = "http://127.0.0.1:" + endpoint.address().getPort();
            exchange(server);
            ServerStats stats = server.stats();

            HttpResponse<String> metrics = get(base + "/metrics");
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), metrics.headers().toString());
            checkFigures(metrics.body(), stats);
            if (curlInstalled()) {
                checkFigures(curl(base + "/metrics"), stats);
                assertEquals("ok\n", curl(base + "/health"));
            }

            HttpResponse<String> health = get(base + "/health");
            assertEquals(200, health.statusCode());
            assertEquals("ok\n", health.body());
            assertEquals(404, get(base + "/other").statusCode());
            assertEquals(404, get(base + "/metricsfoo").statusCode());
            assertEquals(405, http.send(HttpRequest.newBuilder(URI.create(base + "/health")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());

            endpoint.stopping();
            health = get(base + "/health");
            assertEquals(503, health.statusCode());
            assertEquals("stopping\n", health.body());

            server.close();
            assertEquals("stopped\n", get(base + "/health").body());
        } finally {
            server.close();
        }
    }

    @Test
    void aPortInUseIsAnIOException() throws Exception {
        try (Server server = Abyss.start(ServerConfig.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0)
                .numAcceptors(1).datagramHandler(new StatelessEcho()).build());
             MetricsEndpoint first = MetricsEndpoint.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> MetricsEndpoint.start(server, first.address()));
        }
    }

    /** The Prometheus text has the server's figures, under the names the README shows. */
    static void checkFigures(String text, ServerStats stats) {
        assertEquals(stats.datagramsIn(), value(text, "abyss_datagrams_received_total"), text);
        assertEquals(DATAGRAMS, stats.datagramsIn());
        assertEquals(stats.datagramsOut(), value(text, "abyss_datagrams_sent_total"), text);
        assertEquals(stats.bytesIn(), value(text, "abyss_bytes_received_bytes_total"), text);
        assertEquals((long) DATAGRAMS * PAYLOAD, stats.bytesIn());
        assertEquals(stats.bytesOut(), value(text, "abyss_bytes_sent_bytes_total"), text);
        assertEquals(0, value(text, "abyss_drops_total\\{cause=\"kernel\""), text);
        assertTrue(text.contains("server=\"abyss\""), text);
    }

    /** The value of the first sample whose line starts with {@code prefix} (a regex). */
    static long value(String text, String prefix) {
        Matcher m = Pattern.compile("(?m)^" + prefix + "[^ ]* ([0-9.eE+-]+)$").matcher(text);
        assertTrue(m.find(), prefix + " not in\n" + text);
        return (long) Double.parseDouble(m.group(1));
    }

    HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static boolean curlInstalled() throws Exception {
        return new ProcessBuilder("sh", "-c", "command -v curl").start().waitFor() == 0;
    }

    static String curl(String url) throws Exception {
        Process p = new ProcessBuilder("curl", "-s", "--max-time", "10", url).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "curl " + url + ": " + out);
        return out;
    }

    static void exchange(Server server) throws Exception {
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        try (DatagramSocket client = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            client.setSoTimeout(5000);
            for (int i = 0; i < DATAGRAMS; i++) {
                client.send(new DatagramPacket(new byte[PAYLOAD], PAYLOAD, InetAddress.getLoopbackAddress(), port));
                DatagramPacket reply = new DatagramPacket(new byte[PAYLOAD * 2], PAYLOAD * 2);
                client.receive(reply);
                assertEquals(PAYLOAD, reply.getLength());
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.stats().datagramsOut() < DATAGRAMS && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(DATAGRAMS, server.stats().datagramsOut());
    }
}
