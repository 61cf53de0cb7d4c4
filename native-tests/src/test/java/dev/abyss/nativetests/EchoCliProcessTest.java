package dev.abyss.nativetests;

import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI jar as a real process: it prints where it listens, answers external clients (python3,
 * {@code nc -u}: peers that are not our code), and stops cleanly on SIGTERM (what Ctrl-C's
 * shutdown path runs).
 */
class EchoCliProcessTest {
    private static final Pattern LISTENING = Pattern.compile("listening on udp .*:(\\d+)");

    static Path serverJar() {
        Path jar = Path.of(System.getProperty("abyss.cli.jar", "../abyss-cli/target/abyss-cli.jar"));
        assertTrue(Files.isRegularFile(jar), "the CLI jar is built before native-tests run: " + jar.toAbsolutePath());
        return jar;
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Reads up to the "listening on" line; log lines (listener start) may come first, warnings may not. */
    static Matcher listeningPort(BufferedReader out) throws java.io.IOException {
        List<String> seen = new java.util.ArrayList<>();
        for (String line; (line = out.readLine()) != null && seen.size() < 20; ) {
            seen.add(line);
            assertFalse(line.contains("WARNING"), "no restricted-method warning: " + line);
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                return m;
            }
        }
        throw new AssertionError("the server never said where it listens: " + seen);
    }

    @Test
    @Timeout(60)
    void echoesAnExternalClientAndStopsOnSigterm() throws Exception {
        Process server = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--port", "0", "--bind", "127.0.0.1")
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            int port = Integer.parseInt(listeningPort(out).group(1));

            // an external client: python3's socket module
            String script = "import socket,sys\n"
                    + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(5)\n"
                    + "for msg in [b'Hello, UDP', b'', b'x'*60000]:\n"
                    + "    s.sendto(msg,('127.0.0.1'," + port + "))\n"
                    + "    d,a=s.recvfrom(65535)\n"
                    + "    assert d==msg, (len(d), len(msg))\n"
                    + "print('ok')\n";
            Process py = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true).start();
            String pyOut = new String(py.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(py.waitFor(30, TimeUnit.SECONDS));
            assertEquals("ok", pyOut.strip(), "python3 client: " + pyOut);

            // and a JDK client, for a datagram count the stop line must report
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                socket.setSoTimeout(5000);
                byte[] ping = "ping".getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(ping, ping.length, new InetSocketAddress("127.0.0.1", port)));
                DatagramPacket back = new DatagramPacket(new byte[16], 16);
                socket.receive(back); // SocketTimeoutException fails the test
                assertEquals("ping", new String(back.getData(), 0, back.getLength(), StandardCharsets.UTF_8));
            }

            server.toHandle().destroy(); // SIGTERM (keeps our end of its stdout open): the shutdown hook stops the loop
            assertTrue(server.waitFor(10, TimeUnit.SECONDS), "server exits after SIGTERM");
            List<String> rest = out.lines().toList();
            assertTrue(rest.stream().anyMatch(l -> l.contains("stopped after 4 datagrams in, 4 out")), "stop line: " + rest);
        } finally {
            server.destroyForcibly();
        }
    }

    /** {@code nc -u}: the client the README shows. Skipped, saying why, where netcat is not installed. */
    @Test
    @Timeout(60)
    void theReadmeSessionWithNetcat() throws Exception {
        boolean haveNc = new ProcessBuilder("sh", "-c", "command -v nc").start().waitFor() == 0;
        Skip.unless(haveNc, "nc is not installed (apt-get install netcat-openbsd)");
        for (String handler : List.of("echo", "hello")) {
            // echo inline, hello on virtual threads: the README's session in both dispatch modes
            Process server = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--port", "0", "--bind", "127.0.0.1",
                    "--handler", handler, "--dispatch", handler.equals("echo") ? "inline" : "virtual")
                    .redirectErrorStream(true).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
                Matcher m = listeningPort(out);
                // -w 1: after stdin ends, wait a second for the answer, then quit
                Process nc = new ProcessBuilder("nc", "-u", "-w", "1", "127.0.0.1", m.group(1)).redirectErrorStream(true).start();
                nc.getOutputStream().write("hello from nc\n".getBytes(StandardCharsets.UTF_8));
                nc.getOutputStream().close();
                String answer = new String(nc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(nc.waitFor(20, TimeUnit.SECONDS));
                assertEquals(handler.equals("echo") ? "hello from nc\n" : "Hello, World", answer, handler + " answered nc");
                server.toHandle().destroy();
                assertTrue(server.waitFor(10, TimeUnit.SECONDS), "server exits after SIGTERM");
            } finally {
                server.destroyForcibly();
            }
        }
    }

    /** {@code --log trace}: like the original's attach_logger(:trace), every datagram's connection events. */
    @Test
    @Timeout(60)
    void logTraceShowsEveryDatagramsConnectionEvents() throws Exception {
        // session_echo: the stateless echo has no connections to report
        Process server = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--port", "0", "--bind", "127.0.0.1",
                "--log", "trace", "--handler", "session_echo").redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            int port = Integer.parseInt(listeningPort(out).group(1));
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                socket.setSoTimeout(5000);
                byte[] ping = "traced".getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(ping, ping.length, new InetSocketAddress("127.0.0.1", port)));
                socket.receive(new DatagramPacket(new byte[16], 16));
            }
            server.toHandle().destroy();
            assertTrue(server.waitFor(20, TimeUnit.SECONDS), "server exits after SIGTERM");
            String log = String.join("\n", out.lines().toList());
            for (String event : List.of("abyss.connection.start", "abyss.connection.ready", "abyss.connection.recv",
                    "abyss.connection.send", "abyss.connection.stop", "abyss.acceptor.stop", "abyss.listener.stop")) {
                assertTrue(log.contains(event), event + " logged: " + log);
            }
            assertTrue(log.contains("data=\"traced\""), "the datagram itself at trace level: " + log);
        } finally {
            server.destroyForcibly();
        }
    }

    @Test
    @Timeout(30)
    void badOptionsFailWithAClearMessage() throws Exception {
        for (List<String> args : List.of(List.of("--port", "70000"), List.of("--handler", "nope"), List.of("--frobnicate"),
                List.of("--dispatch", "sideways"), List.of("--acceptors", "0"))) {
            List<String> cmd = new java.util.ArrayList<>(List.of(javaBin(), "-jar", serverJar().toString()));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            assertEquals(2, p.exitValue(), "exit code for " + args + ": " + text);
            assertTrue(text.contains(args.get(0)) || text.contains(args.get(args.size() - 1)), "names the bad option: " + text);
        }
        // the flag the user typed, not the config option behind it
        Process p = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--acceptors", "0").redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertTrue(text.contains("--acceptors must be 1..1024, was 0"), text);
        assertFalse(text.contains("numAcceptors"), text);
    }

    /**
     * The start line says where (no leading slash, IPv6 in brackets), on which transport, with how
     * many acceptors ("1 acceptor"); while traffic flows a stats line every 5 s, kernel drops included.
     */
    @Test
    @Timeout(60)
    void startLineAndStatsLine() throws Exception {
        Process server = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--port", "0", "--bind", "127.0.0.1",
                "--acceptors", "1", "--transport", "nio").redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String start = null;
            for (String l; start == null && (l = out.readLine()) != null; ) {
                if (l.contains("listening on")) {
                    start = l;
                }
            }
            Matcher m = Pattern.compile("abyss: echo listening on udp 127\\.0\\.0\\.1:(\\d+) \\(nio transport, 1 acceptor, inline dispatch\\)")
                    .matcher(String.valueOf(start));
            assertTrue(m.matches(), "start line: " + start);
            int port = Integer.parseInt(m.group(1));
            // ticks flow until the first stats line (printed 5 s after traffic starts); the server's output is read as it comes
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread.ofVirtual().start(() -> out.lines().forEach(lines::add));
            List<String> printed = new ArrayList<>();
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                socket.setSoTimeout(5000);
                byte[] tick = "tick".getBytes(StandardCharsets.UTF_8);
                await("a stats line while ticks flow (lines printed since the start line)", Duration.ofSeconds(30), () -> {
                    try {
                        socket.send(new DatagramPacket(tick, tick.length, new InetSocketAddress("127.0.0.1", port)));
                        socket.receive(new DatagramPacket(new byte[16], 16));
                        String line = lines.poll(50, TimeUnit.MILLISECONDS); // also paces the ticks: 20 a second is traffic enough
                        if (line != null) {
                            printed.add(line);
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return printed;
                }, seen -> seen.stream().anyMatch(l -> l.contains(" in/s")));
            }
            String stats = printed.stream().filter(l -> l.contains(" in/s")).findFirst().orElse(null);
            // the default echo is stateless: no session is ever opened
            assertTrue(stats != null && stats.matches("abyss: [\\d.,]+ in/s, [\\d.,]+ out/s, 0 sessions, 0 drops, kernel drops 0, receive errors 0, receive pauses 0, 0 handler errors"),
                    "stats line: " + stats);
        } finally {
            server.destroyForcibly();
        }
    }
}
