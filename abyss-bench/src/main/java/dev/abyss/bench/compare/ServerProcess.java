package dev.abyss.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One echo server of the comparison, as a process: started, waited for ("ready"), stopped by closing its stdin. */
final class ServerProcess implements AutoCloseable {
    private final Process process;

    private ServerProcess(Process process) {
        this.process = process;
    }

    /**
     * Starts {@code c} on 127.0.0.1:{@code port}: a C reference from {@code natives} (kind to
     * compiled binary) in its mode ({@link Compare#C_REFERENCES}), or EchoServers from
     * {@code benchJar} in a JVM of its own.
     */
    static ServerProcess start(Contender c, int port, Path benchJar, Map<String, Path> natives) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (c.isNative()) {
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
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        for (String line; (line = out.readLine()) != null; ) {
            if (line.equals("ready")) {
                Thread.ofPlatform().daemon(true).start(() -> out.lines().forEach(l -> System.err.println("  [" + c.label() + "] " + l)));
                return new ServerProcess(p);
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
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
