package dev.abyss.nativetests;

import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.Skip;
import dev.abyss.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.abyss.nativetests.EchoCliProcessTest.javaBin;
import static dev.abyss.nativetests.EchoCliProcessTest.listeningPort;
import static dev.abyss.nativetests.EchoCliProcessTest.serverJar;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DTLS with clients nobody here wrote: {@code openssl s_client -dtls1_2} and {@code gnutls-cli --udp}
 * against {@code bin/abyss --handler session_echo --dtls-keystore ...}, certificates made at test
 * time. Skipped, saying why, where a client is not installed (bin/test-deps.list lists both).
 */
class DtlsInteropProcessTest {
    private static final String PASS = TestCertificates.PASSWORD;

    private static boolean installed(String command) throws Exception {
        return new ProcessBuilder("sh", "-c", "command -v " + command).start().waitFor() == 0;
    }

    /** The CLI serving DTLS; its output lines are collected (the stats line tells the handshakes). */
    private record Cli(Process process, int port, List<String> lines) implements AutoCloseable {
        static Cli start(String... extra) throws Exception {
            TestCertificates certs = TestCertificates.get();
            List<String> cmd = new ArrayList<>(List.of(javaBin(), "--enable-native-access=ALL-UNNAMED", "-jar", serverJar().toString(),
                    "--port", "0", "--bind", "127.0.0.1", "--acceptors", "1", "--handler", "session_echo",
                    "--dtls-keystore", certs.server.toString(), "--dtls-password", PASS));
            cmd.addAll(List.of(extra));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = Integer.parseInt(listeningPort(out).group(1));
            List<String> lines = new CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> out.lines().forEach(lines::add));
            return new Cli(p, port, lines);
        }

        @Override
        public void close() throws Exception {
            process.toHandle().destroy();
            process.waitFor(10, TimeUnit.SECONDS);
            process.destroyForcibly();
        }
    }

    /** Runs a client, types {@code line}, and returns what it printed until it echoed the line or gave up. */
    private static String talk(List<String> command, String line) throws Exception {
        Process c = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            OutputStream in = c.getOutputStream();
            StringBuilder seen = new StringBuilder();
            Thread reader = Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        synchronized (seen) {
                            seen.append(l).append('\n');
                        }
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            // the handshake first, then the line (clients read stdin once connected; a late line is still sent)
            Await.await("the client connected or failed", java.time.Duration.ofSeconds(20), () -> {
                synchronized (seen) {
                    return seen.toString();
                }
            }, s -> s.contains("Handshake was completed") || s.contains("CONNECTED") || s.contains("alert") || s.contains("rror")
                    || !c.isAlive());
            try {
                in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
            } catch (IOException closed) {
                // the client ended already (a failed handshake)
            }
            Await.await("the echo or the end", java.time.Duration.ofSeconds(20), () -> {
                synchronized (seen) {
                    return seen.toString();
                }
            }, s -> s.lines().filter(l -> l.equals(line)).count() >= 1 || !c.isAlive());
            c.destroy();
            reader.join(5_000);
            synchronized (seen) {
                return seen.toString();
            }
        } finally {
            c.destroyForcibly();
        }
    }

    private static List<String> openssl(int port, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:" + port,
                "-CAfile", TestCertificates.get().caPem.toString()));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    @Test
    @Timeout(120)
    void opensslEchoesALine() throws Exception {
        Skip.unless(installed("openssl"), "openssl is not installed (apt-get install openssl)");
        try (Cli cli = Cli.start()) {
            String out = talk(openssl(cli.port()), "hello over dtls");
            assertTrue(out.lines().anyMatch("hello over dtls"::equals), "openssl s_client got the echo: " + out);
            assertTrue(cli.lines().stream().noneMatch(l -> l.contains("Exception")), cli.lines().toString());
        }
    }

    @Test
    @Timeout(180)
    void clientAuthNeedPassesASignedClientCertificateAndCountsTheOneWithout() throws Exception {
        Skip.unless(installed("openssl"), "openssl is not installed (apt-get install openssl)");
        TestCertificates certs = TestCertificates.get();
        Path pem = certs.dir.resolve("client-with-key.pem");
        Process convert = new ProcessBuilder("openssl", "pkcs12", "-in", certs.client.toString(), "-passin", "pass:" + PASS, "-nodes",
                "-out", pem.toString()).redirectErrorStream(true).start();
        String converted = new String(convert.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(convert.waitFor(30, TimeUnit.SECONDS) && convert.exitValue() == 0, "openssl pkcs12: " + converted);
        try (Cli cli = Cli.start("--dtls-client-auth", "need", "--dtls-truststore", certs.trust.toString())) {
            String signed = talk(openssl(cli.port(), "-cert", pem.toString(), "-key", pem.toString()), "signed client");
            assertTrue(signed.lines().anyMatch("signed client"::equals), "the signed client is served: " + signed);
            String without = talk(openssl(cli.port()), "anonymous client");
            assertTrue(without.lines().noneMatch("anonymous client"::equals), "no certificate, no echo: " + without);
            assertTrue(without.contains("alert"), "the client saw an alert: " + without);
            Await.await("the stats line counts the failed handshake", java.time.Duration.ofSeconds(30), () -> List.copyOf(cli.lines()),
                    l -> l.stream().anyMatch(s -> s.contains("DTLS handshakes 1, failed 1")));
        }
    }

    @Test
    @Timeout(120)
    void gnutlsEchoesALine() throws Exception {
        Skip.unless(installed("gnutls-cli"), "gnutls-cli is not installed (apt-get install gnutls-bin)");
        try (Cli cli = Cli.start("--dtls-alpn", "coap")) {
            String out = talk(List.of("gnutls-cli", "--udp", "--insecure", "--alpn", "coap",
                    "-p", Integer.toString(cli.port()), "127.0.0.1"), "hello from gnutls");
            assertTrue(out.lines().anyMatch("hello from gnutls"::equals), "gnutls-cli got the echo: " + out);
        }
    }
}
