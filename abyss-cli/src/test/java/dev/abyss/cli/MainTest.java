package dev.abyss.cli;

import dev.abyss.server.Abyss;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.HandlerChoice;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The options as a user types them: what they set, and what a bad one says. */
class MainTest {

    /** Exit status and everything printed, for arguments that must fail before a server starts. */
    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int status = cl.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    /** The DTLS flags: a key store turns DTLS on; a stray flag, a stateless handler or a bad store is refused, naming it. */
    @Test
    void dtlsFlags() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("abyss-cli-dtls");
        java.nio.file.Path p12 = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-keystore", p12.toString(), "-storetype", "PKCS12", "-storepass", "clitest", "-alias", "s",
                "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost", "-validity", "2").redirectErrorStream(true).start();
        keytool.getInputStream().readAllBytes();
        assertEquals(0, keytool.waitFor());
        try {
            ServerConfig on = CliArgs.config("--handler", "session_echo", "--dtls-keystore", p12.toString(), "--dtls-password", "clitest",
                    "--dtls-client-auth", "want", "--dtls-alpn", "coap,h2");
            dev.abyss.server.Dtls dtls = on.dtls().orElseThrow();
            assertEquals(dev.abyss.server.Dtls.ClientAuth.WANT, dtls.clientAuth());
            assertEquals(List.of("coap", "h2"), dtls.alpn());
            assertTrue(CliArgs.config("--handler", "session_echo").dtls().isEmpty(), "plaintext without --dtls-keystore");
            assertTrue(run("--dtls-password", "x").err().contains("--dtls-password needs --dtls-keystore"));
            assertTrue(run("--handler", "echo", "--dtls-keystore", p12.toString(), "--dtls-password", "clitest").err()
                    .contains("--handler echo keeps no sessions"));
            assertTrue(run("--handler", "session_echo", "--dtls-keystore", p12.toString(), "--dtls-password", "wrong").err()
                    .contains("--dtls-keystore: key store " + p12));
            assertTrue(run("--handler", "session_echo", "--dtls-keystore", p12.toString()).err().contains("needs --dtls-password"));
        } finally {
            java.nio.file.Files.deleteIfExists(p12);
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    @Test
    void badValuesNameTheFlag() {
        for (List<String> c : List.of(
                List.of("--acceptors", "0", "--acceptors must be 1..1024, was 0"),
                List.of("--port", "70000", "--port must be 0..65535, was 70000"),
                List.of("--batch", "0", "--batch must be 1..1024, was 0"),
                List.of("--receive-buffer", "-1", "--receive-buffer must be >= 0, was -1"),
                List.of("--connections", "-5", "'--connections': must be >= 0 or 'unlimited', was -5"),
                List.of("--connections", "lots", "'--connections': must be a number or 'unlimited', was 'lots'"),
                List.of("--read-timeout", "0s", "'--read-timeout': must be positive, was '0s'"),
                List.of("--read-timeout", "soon", "'--read-timeout': not a duration: 'soon'"),
                List.of("--transport", "sideways", "--transport"),
                List.of("--dispatch", "sideways", "--dispatch"),
                List.of("--handler", "nope", "--handler"),
                List.of("--log", "loud", "--log"),
                List.of("--bind", "no.such.host.invalid", "--bind: not an address: 'no.such.host.invalid'"),
                List.of("--acceptors", "two", "--acceptors"),
                List.of("--metrics-port", "70000", "--metrics-port must be 0..65535, was 70000"))) {
            Run r = run(c.get(0), c.get(1));
            assertEquals(2, r.status(), c + ": " + r);
            assertTrue(r.err().startsWith("abyss: "), r.err());
            assertTrue(r.err().contains(c.get(2)), c + " says: " + r.err());
            assertTrue(r.err().contains("--help"), r.err());
            assertTrue(r.out().isEmpty(), r.out());
        }
        Run badMetricsBind = run("--metrics-port", "0", "--metrics-bind", "no.such.host.invalid");
        assertEquals(2, badMetricsBind.status(), badMetricsBind.toString());
        assertTrue(badMetricsBind.err().contains("--metrics-bind: not an address: 'no.such.host.invalid'"), badMetricsBind.err());
        Run unknown = run("--frobnicate");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("--frobnicate"), unknown.err());
        // every allowed value is listed in the message of an enumerated option
        assertTrue(run("--transport", "x").err().contains("auto, io_uring, epoll, nio"));
    }

    @Test
    void helpListsEveryFlag() {
        Run r = run("--help");
        assertEquals(0, r.status());
        for (String flag : List.of("--port", "--bind", "--handler", "--acceptors", "--transport", "--dispatch", "--connections",
                "--read-timeout", "--receive-buffer", "--batch", "--[no-]gso", "--[no-]gro", "--metrics-port", "--metrics-bind",
                "--log", "--help", "--version", "--rate-limit", "--rate-limit-burst", "--rate-limit-slip",
                "--amplification-limit", "--sessions-per-prefix")) {
            assertTrue(r.out().contains(flag), flag + " in --help: " + r.out());
        }
        assertTrue(r.out().contains("echo, session_echo, hello, messenger, reflector"), r.out());
        assertTrue(r.out().contains("auto, io_uring, epoll, nio"), r.out());
    }

    @Test
    void aMetricsPortInUseStopsTheServerAndExitsWith1() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Run r = run("--port", "0", "--bind", "127.0.0.1", "--acceptors", "1", "--metrics-port", Integer.toString(taken.getLocalPort()));
            assertEquals(1, r.status(), r.toString());
            assertTrue(r.err().contains("abyss: cannot serve metrics on tcp 127.0.0.1:" + taken.getLocalPort()), r.err());
        } finally {
            // call() attached the CLI's logger (--log info) to this JVM: the other tests run without it
            dev.abyss.server.telemetry.AbyssLogger.detach(dev.abyss.server.telemetry.AbyssLogger.Level.INFO);
        }
    }

    @Test
    void optionsReachTheConfig() throws Exception {
        ServerConfig c = CliArgs.config("--port", "5000", "--bind", "::1", "--acceptors", "3", "--transport", "nio", "--dispatch", "virtual",
                "--handler", "session_echo",
                "--connections", "unlimited", "--read-timeout", "90s", "--receive-buffer", "4194304", "--batch", "32");
        assertEquals(new InetSocketAddress(InetAddress.getByName("::1"), 5000), c.socket().bindAddress());
        assertEquals(3, c.limits().numAcceptors());
        assertEquals(TransportKind.NIO, c.socket().transport());
        assertEquals(DispatchMode.VIRTUAL_THREADS, c.dispatch().mode());
        assertEquals(ServerConfig.UNLIMITED, c.limits().numConnections());
        assertEquals(Duration.ofSeconds(90), c.timeouts().readTimeout());
        assertEquals(4_194_304, c.socket().receiveBufferSize());
        assertEquals(32, c.socket().receiveBatchSize());

        ServerConfig d = CliArgs.config();
        assertEquals(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 1234), d.socket().bindAddress());
        assertEquals(TransportKind.AUTO, d.socket().transport());
        assertEquals(DispatchMode.INLINE, d.dispatch().mode());
        assertEquals(Runtime.getRuntime().availableProcessors(), d.limits().numAcceptors());
        assertTrue(d.handler() instanceof HandlerChoice.Stateless, "the default echo is stateless: no sessions");
        assertTrue(c.handler() instanceof HandlerChoice.Sessions<?>, "session_echo keeps a session per peer");

        assertEquals(Duration.ofMillis(500), CliArgs.config("--handler", "session_echo", "--read-timeout", "500ms").timeouts().readTimeout());
        assertEquals(Duration.ofMinutes(5), CliArgs.config("--handler", "session_echo", "--read-timeout", "5m").timeouts().readTimeout());
        assertEquals(Duration.ofHours(1), CliArgs.config("--handler", "session_echo", "--read-timeout", "1h").timeouts().readTimeout());
        assertEquals(Duration.ofSeconds(30), CliArgs.config("--handler", "session_echo", "--read-timeout", "30").timeouts().readTimeout());
        assertEquals(Duration.ofSeconds(75), CliArgs.config("--handler", "session_echo", "--read-timeout", "PT1M15S").timeouts().readTimeout());
        assertEquals(0, CliArgs.config("--handler", "session_echo", "--connections", "0").limits().numConnections());

        assertTrue(d.socket().gso() && d.socket().gro(), "GSO and GRO on by default");
        ServerConfig off = CliArgs.config("--no-gso", "--no-gro");
        assertTrue(!off.socket().gso() && !off.socket().gro());
        ServerConfig reflector = CliArgs.config("--handler", "reflector");
        assertTrue(reflector.handler() instanceof HandlerChoice.Stateless s && s.handler() instanceof dev.abyss.server.examples.Reflector);
        assertTrue(reflector.socket().receiveTrafficClass() && reflector.socket().receiveTimestamps(), "the reflector reads what it reports");
        Run virtual = run("--handler", "reflector", "--dispatch", "virtual");
        assertEquals(2, virtual.status());
        assertTrue(virtual.err().contains("--handler reflector is stateless"), virtual.err());
    }

    @Test
    void echoAndReflectorStartWithTheirOpenInternetLimits() {
        for (String h : List.of("echo", "reflector")) {
            ServerConfig.Defences d = CliArgs.config("--handler", h).defences();
            assertEquals(200, d.rateLimit(), h);
            assertEquals(3, d.amplificationLimit(), h);
            assertEquals(200, d.rateLimitBurst(), h + ": a second's worth");
        }
        ServerConfig.Defences off = CliArgs.config("--handler", "echo", "--rate-limit", "0", "--amplification-limit", "0").defences();
        assertEquals(0, off.rateLimit());
        assertEquals(0, off.amplificationLimit());
        ServerConfig.Defences session = CliArgs.config("--handler", "session_echo").defences();
        assertEquals(0, session.rateLimit(), "the library's default for session handlers: off");
        assertEquals(0, session.sessionsPerPrefix());
        ServerConfig.Defences set = CliArgs.config("--handler", "session_echo", "--rate-limit", "50", "--rate-limit-burst", "10",
                "--rate-limit-slip", "1", "--amplification-limit", "5", "--sessions-per-prefix", "20").defences();
        assertEquals(new ServerConfig.Defences(50, 10, 1, 24, 56, 5, 20, 1 << 20), set);
        Run bad = run("--rate-limit", "-1");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--rate-limit must be 0..1000000000, was -1"), bad.err());
        Run burstWithoutRate = run("--handler", "session_echo", "--rate-limit-burst", "5");
        assertEquals(2, burstWithoutRate.status());
        assertTrue(burstWithoutRate.err().contains("rateLimitBurst 5 contradicts rateLimit"), burstWithoutRate.err());
        Run quotaStateless = run("--sessions-per-prefix", "5");
        assertTrue(quotaStateless.err().contains("sessionsPerPrefix 5 contradicts datagramHandler StatelessEcho"), quotaStateless.err());
        Run help = run("--help");
        assertTrue(help.out().contains("--rate-limit 200 --amplification-limit 3"), help.out());
    }

    @Test
    void contradictionsExitWithTheConfigsMessage() {
        for (List<String> c : List.of(
                List.of("--transport", "nio", "--gso", "gso true contradicts transport NIO"),
                List.of("--read-timeout", "5s", "--handler", "echo", "readTimeout PT5S contradicts datagramHandler StatelessEcho"),
                List.of("--connections", "10", "--handler", "reflector", "numConnections 10 contradicts datagramHandler Reflector"),
                List.of("--bind", "127.0.0.1", "--transport", "nio", "--handler", "reflector", "contradicts transport NIO"))) {
            Run r = run(c.subList(0, c.size() - 1).toArray(String[]::new));
            assertEquals(2, r.status(), c + ": " + r);
            assertTrue(r.err().contains(c.getLast()), c + " says: " + r.err());
        }
    }

    @Test
    void countsAgreeWithTheirNumber() {
        assertEquals("1 acceptor", Main.count(1, "acceptor"));
        assertEquals("2 acceptors", Main.count(2, "acceptor"));
        assertEquals("0 sessions", Main.count(0, "session"));
        assertEquals("1 handler error", Main.count(1, "handler error"));
    }

    @Test
    void addressesPrintWithoutTheLeadingSlash() throws Exception {
        assertEquals("127.0.0.1:1234", Addresses.format(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 1234)));
        assertEquals("[::1]:1234", Addresses.format(new InetSocketAddress(InetAddress.getByName("::1"), 1234)));
        assertEquals("[::]:53", Addresses.format(new InetSocketAddress(InetAddress.getByName("::"), 53)));
        assertEquals("[2001:db8::1]:53", Addresses.format(new InetSocketAddress(InetAddress.getByName("2001:db8:0:0:0:0:0:1"), 53)));
        assertEquals("[2001:db8:0:1:1:1:1:1]:53", Addresses.format(new InetSocketAddress(InetAddress.getByName("2001:db8:0:1:1:1:1:1"), 53)));
        assertEquals("[2001:0:0:1::1]:9", Addresses.format(new InetSocketAddress(InetAddress.getByName("2001:0:0:1:0:0:0:1"), 9)));
        assertEquals("[fe80::1%3]:9", Addresses.format(new InetSocketAddress(InetAddress.getByName("fe80::1%3"), 9)));
        assertEquals("10.0.0.1:0", Addresses.format(new InetSocketAddress(InetAddress.getByName("::ffff:10.0.0.1"), 0)));
    }

    @Test
    void theStatsLineNamesEachDropCauseAndKeepsPausesApartFromErrors() throws Exception {
        try (Server server = Abyss.start(ServerConfig.builder().bindLoopback().port(0)
                .handler(new Echo()).maxDatagramSize(100).build());
             DatagramChannel client = DatagramChannel.open()) {
            assumeTrue(server.transport() != TransportKind.NIO, "NIO cannot tell a cut datagram");
            ServerStats last = server.stats();
            client.send(ByteBuffer.wrap(new byte[300]), server.localAddress()); // cut to 100: dropped, counted as truncated
            ServerStats now = server.stats();
            for (long until = System.nanoTime() + 10_000_000_000L; now.truncated() == 0 && System.nanoTime() < until; ) {
                Thread.sleep(10);
                now = server.stats();
            }
            String line = Main.statsLine(last, now);
            assertTrue(line.contains("1 drop (truncated 1)"), line);
            assertTrue(line.contains("kernel drops 0, receive errors 0, receive pauses 0"), line);
            assertEquals(null, Main.statsLine(now, now), "nothing moved: no line");
        }
    }
}
