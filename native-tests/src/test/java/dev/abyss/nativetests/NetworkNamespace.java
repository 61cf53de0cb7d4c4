package dev.abyss.nativetests;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces of a test's own, two ways. Anonymous: a network namespace of a test's own ({@code unshare -rn}: a user and a network namespace, no
 * root needed where user namespaces are allowed) whose loopback a setup script shapes (a second
 * address, a smaller MTU), and a child JVM run inside it. The child prints one {@code RESULT k=v ...}
 * line and exits 0, or exits 3 when its transport is unavailable there. Named ({@code ip netns add},
 * root only): several namespaces a test wires together with veth pairs ({@link #sh}), long-lived
 * child JVMs in them driven line by line over stdin and stdout ({@link #startJava}), and removed
 * at the end ({@link #deleteNamed}).
 */
final class NetworkNamespace {
    private NetworkNamespace() {
    }

    /** A finished (or killed: code -1) process: exit code and its stdout and stderr together. */
    record Run(int code, String output) {
        /** The child's RESULT line as keys and values, or null without one. */
        Map<String, String> result() {
            for (String line : output.split("\n")) {
                if (line.startsWith("RESULT ")) {
                    Map<String, String> m = new LinkedHashMap<>();
                    for (String kv : line.substring(7).trim().split(" ")) {
                        int eq = kv.indexOf('=');
                        if (eq > 0) {
                            m.put(kv.substring(0, eq), kv.substring(eq + 1));
                        }
                    }
                    return m;
                }
            }
            return null;
        }

        String describe() {
            return "exit " + code + "\n" + output;
        }
    }

    /**
     * Why a namespace set up by {@code setupScript} cannot be made here, or null when it can: the
     * tools are missing, user namespaces are off, or the script fails (its output must contain
     * {@code check}, printed by {@code checkCommand}).
     */
    static String unavailable(String setupScript, String checkCommand, String check) {
        for (String tool : new String[]{"unshare", "ip"}) {
            Run which = run(List.of("sh", "-c", "command -v " + tool), 10);
            if (which.code != 0) {
                return tool + " is not installed (util-linux / iproute2)";
            }
        }
        Run trivial = run(List.of("unshare", "-rn", "true"), 10);
        if (trivial.code != 0) {
            return "unshare -rn cannot create a user and network namespace here (exit " + trivial.code + "): " + trivial.output.strip();
        }
        Run setup = run(List.of("unshare", "-rn", "sh", "-c", setupScript + " && " + checkCommand), 10);
        if (setup.code != 0 || !setup.output.contains(check)) {
            return "cannot set the namespace up with '" + setupScript + "' (exit " + setup.code + "): " + setup.output.strip();
        }
        return null;
    }

    /** Runs {@code main} with {@code args} in a child JVM inside a fresh namespace set up by {@code setupScript}. */
    static Run runJava(String setupScript, Class<?> main, List<String> args, long timeoutSeconds) {
        List<String> java = new ArrayList<>();
        java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        java.add("--enable-native-access=ALL-UNNAMED");
        java.add("-cp");
        java.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        java.add(main.getName());
        java.addAll(args);
        // exec: the JVM replaces the shell, so the process killed at the timeout is the JVM itself
        List<String> all = new ArrayList<>(List.of("unshare", "-rn", "sh", "-c", setupScript + " && exec \"$@\"", "sh"));
        all.addAll(java);
        return run(all, timeoutSeconds);
    }

    /** Runs {@code cmd}, waits up to {@code timeoutSeconds}, then kills it and its descendants (code -1). */
    static Run run(List<String> cmd, long timeoutSeconds) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new Run(127, "cannot start " + cmd.getFirst() + ": " + e.getMessage());
        }
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        try {
            int code;
            if (p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                code = p.exitValue();
            } else {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                code = -1;
            }
            String text = out.get(10, TimeUnit.SECONDS);
            return new Run(code, code == -1 ? "killed after " + timeoutSeconds + " s\n" + text : text);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new AssertionError("running " + cmd + ": " + e, e);
        }
    }

    /** Runs a shell script (named namespaces: {@code ip netns ...}, {@code ip netns exec NAME ...}). */
    static Run sh(String script, long timeoutSeconds) {
        return run(List.of("sh", "-c", script), timeoutSeconds);
    }

    /**
     * Why named namespaces ({@code ip netns add}) cannot be made here, or null when they can: not
     * root, or the kernel or a container refuses; {@code probe} is the name tried (and removed).
     */
    static String namedUnavailable(String probe) {
        Run which = run(List.of("sh", "-c", "command -v ip"), 10);
        if (which.code != 0) {
            return "ip is not installed (iproute2)";
        }
        Run add = sh("ip netns add " + probe + " && ip -n " + probe + " link set lo up", 10);
        sh("ip netns del " + probe + " 2>/dev/null", 10);
        if (add.code != 0) {
            return "ip netns add cannot make a named network namespace here (root needed; exit " + add.code + "): " + add.output.strip();
        }
        return null;
    }

    /** Removes the named namespaces that exist of {@code names} (their veths and nftables go with them); never throws. */
    static void deleteNamed(List<String> names) {
        for (String n : names) {
            sh("[ ! -e /run/netns/" + n + " ] || ip netns del " + n, 10);
        }
    }

    /** Starts {@code main} with {@code args} in a child JVM inside the named namespace {@code netns}. */
    static Child startJava(String netns, Class<?> main, List<String> args) {
        return startJava(netns, main, args, List.of("-XX:TieredStopAtLevel=1"));
    }

    /**
     * {@link #startJava(String, Class, List)} with these JVM options instead of the default
     * {@code -XX:TieredStopAtLevel=1} (quick start): e.g. none, for a child whose allocations are
     * measured (C2's escape analysis is what removes the short-lived views of a hot path).
     */
    static Child startJava(String netns, Class<?> main, List<String> args, List<String> jvmOptions) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(main.getName());
        cmd.addAll(args);
        return start(netns, cmd.subList(4, cmd.size()));
    }

    /** Starts {@code command} as a {@link Child} inside the named namespace {@code netns} (e.g. the CLI's jar). */
    static Child start(String netns, List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        cmd.addAll(command);
        try {
            return new Child(netns, new ProcessBuilder(cmd).redirectErrorStream(true).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command.getFirst() + " in " + netns, e);
        }
    }

    /**
     * A child JVM driven line by line: {@link #send} writes a line to its stdin, {@link #expect}
     * waits (bounded) for the next output line starting with a prefix; everything it printed is
     * kept for failure messages. {@link #close} ends its stdin and, if it does not exit, kills it.
     */
    static final class Child implements AutoCloseable {
        private final String name;
        private final Process process;
        private final Writer in;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuffer all = new StringBuffer();

        private Child(String name, Process process) {
            this.name = name;
            this.process = process;
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        all.append(line).append('\n');
                        lines.add(line);
                    }
                } catch (IOException e) {
                    all.append("(reading stopped: ").append(e).append(")\n");
                }
            }, "child-" + name);
            reader.setDaemon(true);
            reader.start();
        }

        void send(String line) {
            try {
                in.write(line + "\n");
                in.flush();
            } catch (IOException e) {
                throw new AssertionError("child " + name + " does not read its stdin: " + e + "\n" + output(), e);
            }
        }

        /** The next line starting with {@code prefix} (without it), within {@code within}; other lines are skipped. */
        String expect(String prefix, Duration within) {
            long deadline = System.nanoTime() + within.toNanos();
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
                    if (line == null) {
                        throw new AssertionError("child " + name + ": no line '" + prefix + "...' within " + within
                                + (process.isAlive() ? "" : " (it exited " + process.exitValue() + ")") + ":\n" + output());
                    }
                    if (line.startsWith(prefix)) {
                        return line.substring(prefix.length());
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + name, e);
            }
        }

        String output() {
            return all.toString();
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException ignored) {
                // it is gone already
            }
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String readAll(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
