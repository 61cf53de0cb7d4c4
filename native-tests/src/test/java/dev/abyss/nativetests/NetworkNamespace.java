package dev.abyss.nativetests;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of a test's own ({@code unshare -rn}: a user and a network namespace, no
 * root needed where user namespaces are allowed) whose loopback a setup script shapes (a second
 * address, a smaller MTU), and a child JVM run inside it. The child prints one {@code RESULT k=v ...}
 * line and exits 0, or exits 3 when its transport is unavailable there.
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

    private static String readAll(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
