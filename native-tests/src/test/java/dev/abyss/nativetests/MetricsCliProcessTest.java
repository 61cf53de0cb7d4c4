package dev.abyss.nativetests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.abyss.nativetests.EchoCliProcessTest.javaBin;
import static dev.abyss.nativetests.EchoCliProcessTest.serverJar;
import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/abyss --metrics-port}: the CLI as a process, scraped over HTTP by the JDK's HttpClient
 * and by curl where installed (the README's quick look), after a known exchange.
 */
class MetricsCliProcessTest {
    private static final Pattern LISTENING = Pattern.compile("listening on udp 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern METRICS = Pattern.compile("metrics on (http://127\\.0\\.0\\.1:\\d+)/metrics");
    private static final int DATAGRAMS = 10;
    private static final int PAYLOAD = 50;

    @Test
    @Timeout(60)
    void metricsCountTheExchangeAndHealthIsOk() throws Exception {
        Process server = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--handler", "session_echo",
                "--port", "0", "--bind", "127.0.0.1", "--acceptors", "1", "--metrics-port", "0")
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            int port = -1;
            String base = null;
            List<String> seen = new ArrayList<>();
            for (String line; base == null && (line = out.readLine()) != null && seen.size() < 20; ) {
                seen.add(line);
                Matcher listening = LISTENING.matcher(line);
                Matcher metrics = METRICS.matcher(line);
                if (listening.find()) {
                    port = Integer.parseInt(listening.group(1));
                } else if (metrics.find()) {
                    base = metrics.group(1);
                }
            }
            assertTrue(port > 0 && base != null, "the start lines name both addresses: " + seen);
            Thread.ofVirtual().start(() -> { // keep the pipe drained until the process is gone
                try {
                    out.transferTo(java.io.Writer.nullWriter());
                } catch (java.io.IOException closed) {
                    // the process ended
                }
            });

            try (DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                client.setSoTimeout(5000);
                for (int i = 0; i < DATAGRAMS; i++) {
                    client.send(new DatagramPacket(new byte[PAYLOAD], PAYLOAD, new InetSocketAddress("127.0.0.1", port)));
                    client.receive(new DatagramPacket(new byte[PAYLOAD * 2], PAYLOAD * 2));
                }
            }
            HttpClient http = HttpClient.newHttpClient();
            String metricsUrl = base + "/metrics";
            String text = await("every echo counted as sent", () -> get(http, metricsUrl),
                    t -> value(t, "abyss_datagrams_sent_total") == DATAGRAMS);
            checkFigures(text);
            assertEquals("ok\n", get(http, base + "/health"));
            if (new ProcessBuilder("sh", "-c", "command -v curl").start().waitFor() == 0) {
                checkFigures(curl(metricsUrl));
                assertEquals("ok\n", curl(base + "/health"));
            }

            server.destroy(); // SIGTERM: the graceful stop
            assertTrue(server.waitFor(20, TimeUnit.SECONDS), "stopped on SIGTERM");
        } finally {
            server.destroyForcibly();
        }
    }

    private static void checkFigures(String text) {
        assertEquals(DATAGRAMS, value(text, "abyss_datagrams_received_total"), text);
        assertEquals(DATAGRAMS, value(text, "abyss_datagrams_sent_total"), text);
        assertEquals(DATAGRAMS * PAYLOAD, value(text, "abyss_bytes_received_bytes_total"), text);
        assertEquals(DATAGRAMS * PAYLOAD, value(text, "abyss_bytes_sent_bytes_total"), text);
        assertEquals(1, value(text, "abyss_sessions_opened_total"), text);
        assertEquals(1, value(text, "abyss_sessions_live_sessions"), text);
        assertEquals(0, value(text, "abyss_drops_total\\{cause=\"kernel\""), text);
    }

    private static long value(String text, String prefix) {
        Matcher m = Pattern.compile("(?m)^" + prefix + "[^ ]* ([0-9.eE+-]+)$").matcher(text);
        assertTrue(m.find(), prefix + " not in\n" + text);
        return (long) Double.parseDouble(m.group(1));
    }

    private static String get(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            throw new AssertionError("GET " + url, e);
        }
    }

    private static String curl(String url) throws Exception {
        Process p = new ProcessBuilder("curl", "-s", "--max-time", "10", url).redirectErrorStream(true).start();
        String body = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "curl " + url + ": " + body);
        return body;
    }
}
