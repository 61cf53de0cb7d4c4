package dev.abyss.bench.compare;

import dev.abyss.bench.dtls.DtlsPki;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One echo server of the comparison, as a process: started, waited for ("ready"), stopped by closing its stdin. */
final class ServerProcess implements AutoCloseable {
    /** The contender Compare's {@code --cli-before} adds: the CLI of {@link #cliBefore} with DTLS on. */
    static final String BEFORE = "abyss-dtls-before";
    /** {@code --cli-before}'s jar, or null. */
    static volatile Path cliBefore;
    private final Process process;
    private final boolean cli;

    private ServerProcess(Process process, boolean cli) {
        this.process = process;
        this.cli = cli;
    }

    /**
     * Starts {@code c} on 127.0.0.1:{@code port}: a C reference from {@code natives} (kind to
     * compiled binary) in its mode ({@link Compare#C_REFERENCES}), or EchoServers from
     * {@code benchJar} in a JVM of its own.
     */
    static ServerProcess start(Contender c, int port, Path benchJar, Map<String, Path> natives) throws IOException {
        return start(c, port, benchJar, natives, null);
    }

    /**
     * {@link #start(Contender, int, Path, Map)}; the DTLS servers serve {@code pki}'s certificate, the
     * Abyss CLI's kinds run {@code abyss-cli/target/abyss-cli.jar} of the same checkout as {@code benchJar}.
     */
    static ServerProcess start(Contender c, int port, Path benchJar, Map<String, Path> natives, DtlsPki pki) throws IOException {
        List<String> cmd = new ArrayList<>();
        String ready = "ready";
        if (c.encrypted() && pki == null) {
            throw new IOException(c.label() + ": a DTLS server needs a key store");
        }
        if (c.cli()) {
            Path cli = c.name().equals(BEFORE) ? cliBefore
                    : benchJar.toAbsolutePath().getParent().getParent().getParent().resolve("abyss-cli/target/abyss-cli.jar");
            if (!Files.exists(cli)) {
                throw new IOException(c.label() + ": " + cli + " is missing (bin/bench compare builds it; else bin/abyss --help)");
            }
            cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Xms256m", "-Xmx1g", "-jar", cli.toString(),
                    "--handler", "session_echo", "--bind", "127.0.0.1", "--port", String.valueOf(port),
                    "--acceptors", String.valueOf(c.threads()), "--transport", c.transport(),
                    "--connections", "unlimited", "--read-timeout", "10m", "--log", "error"));
            if (c.encrypted()) {
                cmd.addAll(List.of("--dtls-keystore", pki.keystore().toString(), "--dtls-password", pki.password()));
            }
            ready = " listening on udp ";
        } else if (c.isNative()) {
            Path bin = natives.get(c.kind());
            if (bin == null) {
                throw new IOException(c.label() + ": no compiled binary for " + c.kind());
            }
            cmd.addAll(List.of(bin.toString(), String.valueOf(port), String.valueOf(c.threads())));
            cmd.addAll(Compare.C_REFERENCES.get(c.kind()).modeArgs());
        } else {
            cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Xms256m", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-Dio.netty.leakDetection.level=disabled",
                    "-cp", benchJar.toString(), "dev.abyss.bench.peers.EchoServers", c.kind(), String.valueOf(port),
                    String.valueOf(c.threads())));
            if (c.transport() != null) {
                cmd.add(c.transport());
            }
            if (c.encrypted()) {
                cmd.addAll(List.of(pki.keystore().toString(), pki.password()));
            }
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        for (String line; (line = out.readLine()) != null; ) {
            if (line.equals(ready) || (c.cli() && line.contains(ready))) {
                Thread.ofPlatform().daemon(true).start(() -> out.lines().forEach(l -> System.err.println("  [" + c.label() + "] " + l)));
                return new ServerProcess(p, c.cli());
            }
            seen.add(line);
        }
        p.destroyForcibly();
        seen.forEach(l -> System.err.println("  [" + c.label() + "] " + l));
        throw new IOException(c.label() + " did not start: " + reason(seen));
    }

    long pid() {
        return process.pid();
    }

    /** CPU time the server process has used so far (user + system, every thread), in seconds; NaN where /proc has none. */
    double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields 14 and 15 of stat (utime, stime), counted from the state (field 3) after the command's ')'
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLOCK_TICKS;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static final int CLOCK_TICKS = 100; // USER_HZ on Linux

    /**
     * The server JVM's heap in use after full collections, in bytes, read with the JDK's jcmd
     * (GC.run twice, then GC.heap_info's "used").
     *
     * @throws IOException when jcmd fails or says nothing this parses
     */
    long heapAfterGc() throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        for (int i = 0; i < 2; i++) {
            jcmd(jcmd, "GC.run");
        }
        String info = jcmd(jcmd, "GC.heap_info");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("heap\\s+total\\s+(?:reserved\\s+)?\\d+K,\\s+(?:committed\\s+\\d+K,\\s+)?used\\s+(\\d+)K")
                .matcher(info);
        if (!m.find()) {
            throw new IOException("jcmd GC.heap_info: no heap use in: " + info.trim());
        }
        return Long.parseLong(m.group(1)) * 1024;
    }

    private String jcmd(Path jcmd, String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(jcmd.toString(), String.valueOf(process.pid()), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("jcmd " + command + " failed: " + out.trim());
        }
        return out;
    }

    /** The line that says why, out of a stack trace or a C error: the first exception message, else the first line. */
    private static String reason(List<String> output) {
        for (String l : output) {
            int at = l.indexOf("Exception: ");
            if (at >= 0 && !l.startsWith("\tat ")) {
                return l.substring(at + "Exception: ".length()).trim();
            }
        }
        return output.isEmpty() ? "no output" : output.getFirst().trim();
    }

    @Override
    public void close() throws Exception {
        process.getOutputStream().close();
        if (cli) {
            process.destroy(); // the CLI serves until SIGTERM, not until its stdin closes
        }
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
