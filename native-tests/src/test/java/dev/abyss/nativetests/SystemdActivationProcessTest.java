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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * systemd socket activation with the real {@code systemd-socket-activate} (Debian's systemd
 * package): it binds the sockets, waits for the first datagram, then execs {@code abyss --systemd}
 * with LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES, exactly as a {@code .socket} unit with
 * {@code ListenDatagram=} would. The first datagram, sent before the server runs, waits in the
 * socket and is answered: nothing is lost while the service starts.
 */
class SystemdActivationProcessTest {
    private static final String TOOL = "systemd-socket-activate";

    private static void requireTool() throws Exception {
        boolean have = new ProcessBuilder("sh", "-c", "command -v " + TOOL).start().waitFor() == 0;
        Skip.unless(have, TOOL + " is not installed (apt-get install systemd; bin/test-deps installs it)");
    }

    /** Ports free now (bound to port 0 and let go): the tool binds them again at once. */
    private static int[] freePorts(int n) throws Exception {
        List<DatagramSocket> held = new ArrayList<>();
        int[] ports = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            held.forEach(DatagramSocket::close);
        }
        return ports;
    }

    private static Process activate(List<String> tool, String... cliArgs) throws Exception {
        List<String> cmd = new ArrayList<>(tool);
        cmd.addAll(List.of(EchoCliProcessTest.javaBin(), "-jar", EchoCliProcessTest.serverJar().toString()));
        cmd.addAll(List.of(cliArgs));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    /** Lines up to and including the first that contains {@code until} (at most 40). */
    private static List<String> readUntil(BufferedReader out, String until) throws Exception {
        List<String> seen = new ArrayList<>();
        for (String line; seen.size() < 40 && (line = out.readLine()) != null; ) {
            seen.add(line);
            if (line.contains(until)) {
                return seen;
            }
        }
        throw new AssertionError("no line with '" + until + "' in: " + seen);
    }

    private static String echo(DatagramSocket client, int port, String text) throws Exception {
        byte[] msg = text.getBytes(StandardCharsets.UTF_8);
        client.send(new DatagramPacket(msg, msg.length, new InetSocketAddress("127.0.0.1", port)));
        DatagramPacket back = new DatagramPacket(new byte[256], 256);
        client.receive(back);
        return new String(back.getData(), 0, back.getLength(), StandardCharsets.UTF_8);
    }

    @Test
    @Timeout(90)
    void oneActivatedSocketEchoesItsFirstDatagramAndHonoursItsName() throws Exception {
        requireTool();
        int port = freePorts(1)[0];
        Process p = activate(List.of(TOOL, "--datagram", "-l", "127.0.0.1:" + port, "--fdname=echo"), "--systemd");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            readUntil(out, "as 3."); // the tool listens
            try (DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                client.setSoTimeout(30_000); // the first reply waits for the JVM to start
                assertEquals("first, before the server ran", echo(client, port, "first, before the server ran"));
                List<String> lines = readUntil(out, "listening on udp");
                assertTrue(lines.stream().anyMatch(l -> l.contains("systemd socket fd 3 'echo' on udp 127.0.0.1:" + port)), "" + lines);
                assertTrue(lines.getLast().contains("127.0.0.1:" + port) && lines.getLast().contains("1 acceptor"), lines.getLast());
                client.setSoTimeout(5000);
                assertEquals("second", echo(client, port, "second"));
            }
            p.toHandle().destroy(); // the tool exec'd the JVM: SIGTERM reaches the server
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "server exits after SIGTERM");
            List<String> rest = out.lines().toList();
            assertTrue(rest.stream().anyMatch(l -> l.contains("stopped after 2 datagrams in, 2 out")), "" + rest);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    @Timeout(90)
    void twoListenAddressesAreTwoAcceptors() throws Exception {
        requireTool();
        int[] ports = freePorts(2);
        Process p = activate(List.of(TOOL, "--datagram", "-l", "127.0.0.1:" + ports[0], "-l", "127.0.0.1:" + ports[1],
                "--fdname=a:b"), "--systemd", "--transport", "epoll");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            readUntil(out, "as 4.");
            try (DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                client.setSoTimeout(30_000);
                assertEquals("to b", echo(client, ports[1], "to b"));
                List<String> lines = readUntil(out, "listening on udp");
                assertTrue(lines.stream().anyMatch(l -> l.contains("systemd socket fd 3 'a' on udp 127.0.0.1:" + ports[0])), "" + lines);
                assertTrue(lines.stream().anyMatch(l -> l.contains("systemd socket fd 4 'b' on udp 127.0.0.1:" + ports[1])), "" + lines);
                assertTrue(lines.getLast().contains("epoll transport, 2 acceptors"), lines.getLast());
                client.setSoTimeout(5000);
                assertEquals("to a", echo(client, ports[0], "to a"));
            }
            p.toHandle().destroy();
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "server exits after SIGTERM");
        } finally {
            p.destroyForcibly();
        }
    }

    /** ListenDatagram=/path: an AF_UNIX datagram socket; python3 is the client (the JDK has no AF_UNIX datagram channel). */
    @Test
    @Timeout(90)
    void anActivatedUnixDatagramSocketEchoes(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        requireTool();
        Skip.unless(new ProcessBuilder("sh", "-c", "command -v python3").start().waitFor() == 0, "python3 is not installed");
        String path = dir.resolve("abyss.sock").toString();
        Process p = activate(List.of(TOOL, "--datagram", "-l", path), "--systemd");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            readUntil(out, "as 3.");
            String script = "import socket\n"
                    + "s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind('" + dir.resolve("client.sock") + "'); s.settimeout(30)\n"
                    + "for m in [b'over AF_UNIX', b'again']:\n"
                    + "    s.sendto(m,'" + path + "')\n"
                    + "    d,a=s.recvfrom(100)\n"
                    + "    assert d==m, d\n"
                    + "print('ok')\n";
            Process py = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true).start();
            String pyOut = new String(py.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(py.waitFor(60, TimeUnit.SECONDS));
            assertEquals("ok", pyOut.strip(), "python3 client: " + pyOut);
            List<String> lines = readUntil(out, "listening on udp");
            assertTrue(lines.stream().anyMatch(l -> l.contains("systemd socket fd 3 on udp " + path)), "" + lines);
            p.toHandle().destroy();
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "server exits after SIGTERM");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    @Timeout(90)
    void aStreamSocketOrNoActivationIsRefusedNamingWhatIsWrong() throws Exception {
        requireTool();
        int port = freePorts(1)[0];
        // without --datagram the tool passes a listening TCP socket; it execs on the first connection
        Process p = activate(List.of(TOOL, "-l", "127.0.0.1:" + port), "--systemd");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            readUntil(out, "as 3.");
            try (java.net.Socket ignored = new java.net.Socket("127.0.0.1", port)) {
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "refused at once");
            }
            String said = String.join("\n", out.lines().toList());
            assertEquals(2, p.exitValue(), said);
            assertTrue(said.contains("--systemd: inherited socket fd 3 is a SOCK_STREAM socket, not SOCK_DGRAM"), said);
        } finally {
            p.destroyForcibly();
        }
        // not activated at all
        Process plain = new ProcessBuilder(EchoCliProcessTest.javaBin(), "-jar", EchoCliProcessTest.serverJar().toString(), "--systemd")
                .redirectErrorStream(true).start();
        String said = new String(plain.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(plain.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, plain.exitValue(), said);
        assertTrue(said.contains("LISTEN_FDS is not set"), said);
        // --port with --systemd
        Process both = new ProcessBuilder(EchoCliProcessTest.javaBin(), "-jar", EchoCliProcessTest.serverJar().toString(),
                "--systemd", "--port", "53").redirectErrorStream(true).start();
        said = new String(both.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(both.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, both.exitValue(), said);
        assertTrue(said.contains("--port contradicts --systemd"), said);
    }
}
