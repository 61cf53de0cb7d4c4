package dev.abyss.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.abyss.micrometer.AbyssMetrics;
import dev.abyss.server.Server;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * {@code --metrics-port}: an HTTP server (the JDK's {@link HttpServer}) with two paths.
 * <ul>
 * <li>{@code /metrics}: the server's meters ({@link AbyssMetrics}, tag {@code server="abyss"}) in
 *     Prometheus' text format, read from the server's stats on each request;</li>
 * <li>{@code /health}: 200 {@code ok} while every acceptor runs; 503 with the reason once the
 *     server failed ({@link Server#failure()}), is stopping or stopped: what a load balancer asks
 *     before it sends traffic.</li>
 * </ul>
 */
final class MetricsEndpoint implements AutoCloseable {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final Server server;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AbyssMetrics metrics;
    private final HttpServer http;
    private volatile boolean stopping;

    private MetricsEndpoint(Server server, InetSocketAddress address) throws IOException {
        this.server = server;
        this.metrics = AbyssMetrics.of(server, "abyss");
        metrics.bindTo(registry);
        try {
            http = HttpServer.create(address, 0);
        } catch (IOException e) {
            metrics.close();
            throw e;
        }
        http.createContext("/metrics", ex -> respond(ex, 200, PROMETHEUS_TEXT, registry.scrape()));
        http.createContext("/health", ex -> {
            String unhealthy = unhealthyBecause();
            respond(ex, unhealthy == null ? 200 : 503, "text/plain; charset=utf-8", (unhealthy == null ? "ok" : unhealthy) + "\n");
        });
        http.createContext("/", MetricsEndpoint::notFound);
        http.start(); // one dispatcher thread: scrapes are rare and short
    }

    /**
     * Serves {@code server}'s metrics and health on {@code address}.
     *
     * @throws IOException when the address cannot be bound (e.g. the port is in use)
     */
    static MetricsEndpoint start(Server server, InetSocketAddress address) throws IOException {
        return new MetricsEndpoint(server, address);
    }

    /** {@return where it listens; with port 0, the port the kernel chose} */
    InetSocketAddress address() {
        return http.getAddress();
    }

    /** From now on {@code /health} answers 503 "stopping": called before the server is stopped, so the balancer drains it first. */
    void stopping() {
        stopping = true;
    }

    /** {@return why the server is not healthy, or null when it is} */
    String unhealthyBecause() {
        var failure = server.failure();
        if (failure.isPresent()) {
            return "failed: " + failure.get();
        }
        if (server.isStopped()) {
            return "stopped";
        }
        return stopping ? "stopping" : null;
    }

    private static void notFound(HttpExchange ex) throws IOException {
        respond(ex, 404, "text/plain; charset=utf-8", "not found: try /metrics or /health\n");
    }

    private static void respond(HttpExchange ex, int status, String contentType, String body) throws IOException {
        // a context matches by prefix: /metricsfoo and /health/x are not ours
        if (status != 404 && !ex.getRequestURI().getPath().equals(ex.getHttpContext().getPath())) {
            notFound(ex);
            return;
        }
        try (ex) {
            String method = ex.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                ex.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", contentType);
            boolean head = method.equals("HEAD");
            ex.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }

    /** Stops serving and removes the meters. */
    @Override
    public void close() {
        http.stop(0);
        metrics.close();
    }
}
