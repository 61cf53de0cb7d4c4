package dev.abyss.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One echo server of the comparison, as a process: started, waited for ("ready"), stopped by closing its stdin. */
final class ServerProcess implements AutoCloseable {
    private final Process process;

    private ServerProcess(Process process) {
        this.process = process;
    }

    static ServerProcess start(Contender c, int port, Path benchJar, Path cReference) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (c.kind().equals("c-ref")) {
            cmd.addAll(List.of(cReference.toString(), String.valueOf(port), String.valueOf(c.threads())));
        } else {
            cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Xms256m", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-Dio.netty.leakDetection.level=disabled",
                    "-cp", benchJar.toString(), "dev.abyss.bench.peers.EchoServers", c.kind(), String.valueOf(port),
                    String.valueOf(c.threads())));
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
        throw new IOException(c.label() + " did not start: " + seen);
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
