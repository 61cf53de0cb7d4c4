package dev.abyss.nativetests;

import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The AF_XDP bindings end to end, without the server: {@link XdpEchoChild} in the server namespace
 * of a {@link VethPair} attaches the redirect program to its end (native mode, two RX queues), opens an
 * AF_XDP socket per queue and echoes UDP frames in place; python3 in the client namespace sends
 * datagrams over IPv4 and IPv6 and gets them back. Ping and another UDP port still reach the
 * server's kernel. After {@code kill -9} of the child, {@code ip link show} has no XDP program on
 * the interface (the BPF link died with the process).
 *
 * <p>Needs root (named namespaces, bpf(2), AF_XDP) and python3; skipped with the reason otherwise.
 * The namespaces are removed at the end, even on failure.
 */
@Timeout(180)
class XdpEchoTest {
    static final String SERVER_V4 = VethPair.SERVER_V4;
    static final String SERVER_V6 = VethPair.SERVER_V6;
    static final int PORT = 7100;

    /**
     * A python3 client in {@code netns}: sends {@code count} datagrams from {@code sources} source
     * ports to address:port and prints {@code ECHOED n} with the replies that came back equal.
     */
    static NetworkNamespace.Run udpClient(String netns, String address, int port, int count, int sources) {
        String py = """
                import socket, sys
                addr, port, count, sources = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
                fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
                ok = 0
                socks = [socket.socket(fam, socket.SOCK_DGRAM) for _ in range(sources)]
                for s in socks:
                    s.settimeout(2.0)
                for i in range(count):
                    s = socks[i % sources]
                    msg = ('abyss-xdp %d ' % i).encode() * 3
                    for attempt in range(3):
                        s.sendto(msg, (addr, port))
                        try:
                            data, frm = s.recvfrom(2048)
                            if data == msg:
                                ok += 1
                                break
                        except socket.timeout:
                            pass
                print('ECHOED %d' % ok)
                """;
        return NetworkNamespace.run(List.of("ip", "netns", "exec", netns, "python3", "-c", py, address,
                Integer.toString(port), Integer.toString(count), Integer.toString(sources)), 60);
    }

    @Test
    void echoesOverXdpLetsTheRestThroughAndLeavesNoProgramAfterKill9() throws Exception {
        Skip.unless(NetworkNamespace.sh("command -v python3", 10).code() == 0, "python3 is not installed");
        Skip.unless(NetworkNamespace.sh("command -v ping", 10).code() == 0, "ping is not installed (bin/test-deps.list: iputils-ping)");
        try (VethPair pair = VethPair.create("echo", 2, false)) {
            String server = pair.serverNs();
            String client = pair.clientNs();
            NetworkNamespace.Child echo = pair.startServerJava(XdpEchoChild.class,
                    List.of(VethPair.SERVER_IF, Integer.toString(PORT), "any"));
            try (echo) {
                String ready = echo.expect("READY", Duration.ofSeconds(60));
                Map<String, String> facts = parse(ready);
                assertEquals("true", facts.get("native"), ready);
                assertEquals("2", facts.get("queues"), ready);
                String link = NetworkNamespace.sh("ip -n " + server + " link show " + VethPair.SERVER_IF, 10).output();
                assertTrue(link.contains("prog/xdp"), "a program on the interface while it runs:\n" + link);

                assertEquals("ECHOED 50", udpClient(client, SERVER_V4, PORT, 50, 8).output().strip(), "IPv4 over AF_XDP");
                assertEquals("ECHOED 50", udpClient(client, SERVER_V6, PORT, 50, 8).output().strip(), "IPv6 over AF_XDP");
                echo.send("");
                Map<String, String> stats = parse(echo.expect("STATS", Duration.ofSeconds(10)));
                assertTrue(Long.parseLong(stats.get("echoed")) >= 100, "the echoes came from AF_XDP: " + stats);
                assertTrue(Long.parseLong(stats.get("q0")) > 0 && Long.parseLong(stats.get("q1")) > 0,
                        "both RX queues served (16 client sockets hash over two veth queues): " + stats);

                NetworkNamespace.Run ping = NetworkNamespace.sh("ip netns exec " + client + " ping -c 2 -W 2 " + SERVER_V4, 20);
                assertEquals(0, ping.code(), "ping still reaches the kernel: " + ping.describe());
                NetworkNamespace.Run ping6 = NetworkNamespace.sh("ip netns exec " + client + " ping -6 -c 2 -W 2 " + SERVER_V6, 20);
                assertEquals(0, ping6.code(), "ping -6 still reaches the kernel: " + ping6.describe());
                // another UDP port: the kernel's socket in the server namespace answers it, not AF_XDP
                NetworkNamespace.Run other = otherPort(server, client, SERVER_V4, 7101);
                assertEquals("kernel", other.output().strip(), "another port is the kernel's: " + other.describe());

                NetworkNamespace.Run kill = NetworkNamespace.sh("kill -9 " + facts.get("pid"), 10);
                assertEquals(0, kill.code(), kill::describe);
                Await.await("no XDP program on " + VethPair.SERVER_IF + " after kill -9", Duration.ofSeconds(20),
                        () -> NetworkNamespace.sh("ip -n " + server + " link show " + VethPair.SERVER_IF, 10).output(), out -> !out.contains("prog/xdp"));
            }
            assertFalse(NetworkNamespace.sh("ip -n " + server + " link show " + VethPair.SERVER_IF, 10).output().contains("prog/xdp"));
        }
    }

    /**
     * A python3 socket in the server namespace on {@code port} answers "kernel" to the first datagram;
     * the client sends until it gets the answer (bounded: 20 tries of 0.5 s), printing it.
     */
    static NetworkNamespace.Run otherPort(String server, String client, String address, int port) {
        return NetworkNamespace.sh("ip netns exec " + server + " python3 -c \""
                + "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('" + address + "'," + port + "));"
                + "s.settimeout(20);d,a=s.recvfrom(100);s.sendto(b'kernel',a)\" & "
                + "ip netns exec " + client + " python3 -c \"import socket\nfor i in range(40):\n"
                + " s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.5);s.sendto(b'x',('" + address + "'," + port + "))\n"
                + " try:\n  print(s.recvfrom(100)[0].decode());break\n except Exception: pass\"; wait", 40);
    }

    static Map<String, String> parse(String line) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (String kv : line.trim().split(" ")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return m;
    }
}
