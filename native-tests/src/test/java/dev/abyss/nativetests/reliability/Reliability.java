package dev.abyss.nativetests.reliability;

import dev.abyss.server.TransportKind;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What the reliability scenarios share: the short/long switch, the transports to run on, figures
 * printed as one {@code RELIABILITY <scenario>: ...} line each (and appended to
 * {@code target/reliability-figures.txt}), process-level measurements from /proc, and child JVMs
 * for what must not share this JVM (a small heap, a captured stderr, a closed descriptor).
 */
final class Reliability {
    /** {@code -Dabyss.reliability.long=true}: the full sizes instead of the CI-sized defaults. */
    static final boolean LONG = Boolean.getBoolean("abyss.reliability.long");

    /** The concrete transports, in the order the scenarios run them. */
    static final List<TransportKind> KINDS = List.of(TransportKind.EPOLL, TransportKind.IO_URING, TransportKind.NIO);

    private static final Path FIGURES = Path.of(System.getProperty("abyss.reliability.figures", "target/reliability-figures.txt"));

    private Reliability() {
    }

    /** {@code shortValue} by default, {@code longValue} with -Dabyss.reliability.long=true. */
    static int size(int shortValue, int longValue) {
        return LONG ? longValue : shortValue;
    }

    /** Prints {@code RELIABILITY scenario: text} and keeps it in the figures file. */
    static void figures(String scenario, String format, Object... args) {
        String line = "RELIABILITY " + scenario + ": " + String.format(java.util.Locale.ROOT, format, args)
                + (LONG ? " [long]" : " [short]");
        System.out.println(line);
        try {
            Files.createDirectories(FIGURES.toAbsolutePath().getParent());
            Files.writeString(FIGURES, LocalDateTime.now().withNano(0) + " " + line + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.out.println("(figures file not written: " + e + ")");
        }
    }

    // ---- the process, from /proc ---------------------------------------------------------------

    /** Open file descriptors of this process. */
    static int openFds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count() - 1; // the directory stream's own descriptor
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** OS threads of this process (JVM-internal ones included). */
    static int osThreads() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            return (int) s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * This process's OS threads whose name starts with {@code prefix}: the JVM names each thread of a
     * Java platform thread after it (15 characters at most), and it is listed until it has exited.
     */
    static List<String> osThreadNames(String prefix) {
        List<String> names = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String name = Files.readString(task.resolve("comm")).strip();
                    if (name.startsWith(prefix)) {
                        names.add(name);
                    }
                } catch (IOException gone) {
                    // exited while listed
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }

    /** Live Java threads whose name starts with {@code prefix}. */
    static long javaThreads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

    /** VmRSS of this process in KiB. */
    static long rssKiB() {
        return statusKiB("VmRSS:");
    }

    /** VmHWM (peak RSS) of this process in KiB. */
    static long peakRssKiB() {
        return statusKiB("VmHWM:");
    }

    private static long statusKiB(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            return -1;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Heap in use after a full GC, in bytes. */
    static long heapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** CPU time of this whole process so far, in nanoseconds. */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    // ---- statistics ----------------------------------------------------------------------------

    /** The {@code p} quantile (0..1) of {@code sorted}, nearest rank. */
    static long quantile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.clamp(rank - 1, 0, sorted.length - 1)];
    }

    static String ms(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    /** A growable array of longs (latencies), appended by one thread. */
    static final class Longs {
        private long[] a = new long[1024];
        private int n;

        void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, 2 * n);
            }
            a[n++] = v;
        }

        int size() {
            return n;
        }

        static long[] sorted(List<Longs> all) {
            int total = all.stream().mapToInt(Longs::size).sum();
            long[] out = new long[total];
            int at = 0;
            for (Longs l : all) {
                System.arraycopy(l.a, 0, out, at, l.n);
                at += l.n;
            }
            Arrays.sort(out);
            return out;
        }
    }

    // ---- child JVMs ----------------------------------------------------------------------------

    /** What a child JVM left: exit code (-1: killed at the timeout), its output and the RESULT lines it printed. */
    record Child(int exitCode, String stdout, String stderr, Map<String, String> result) {
        long num(String key) {
            String v = result.get(key);
            if (v == null) {
                throw new AssertionError("the child printed no " + key + "; exit " + exitCode + "\nstdout:\n" + tail(stdout)
                        + "\nstderr:\n" + tail(stderr));
            }
            return Long.parseLong(v);
        }

        String str(String key) {
            String v = result.get(key);
            if (v == null) {
                throw new AssertionError("the child printed no " + key + "; exit " + exitCode + "\nstdout:\n" + tail(stdout)
                        + "\nstderr:\n" + tail(stderr));
            }
            return v;
        }

        String describe() {
            return "exit " + exitCode + ", result " + result + "\nstdout:\n" + tail(stdout) + "\nstderr:\n" + tail(stderr);
        }

        private static String tail(String s) {
            return s.length() <= 6000 ? s : "..." + s.substring(s.length() - 6000);
        }
    }

    /**
     * Runs {@code main} in a new JVM with this JVM's test class path, native access and
     * {@code jvmArgs}, and waits up to {@code timeout} (then kills it: exit code -1). The child
     * reports with {@code RESULT key=value} lines on stdout ({@link #result}).
     */
    static Child runChild(Class<?> main, List<String> jvmArgs, List<String> args, Duration timeout) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(main.getName());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        int code;
        if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            code = p.exitValue();
        } else {
            // before killing it: where its threads are (jstack-like, through jcmd)
            String stacks = threadDump(p.pid());
            p.destroyForcibly().waitFor();
            code = -1;
            System.out.println("child " + main.getSimpleName() + " killed after " + timeout.toMillis() + " ms; its threads:\n" + stacks);
        }
        String stdout = out.join();
        String stderr = err.join();
        Map<String, String> result = new LinkedHashMap<>();
        for (String line : stdout.split("\n")) {
            if (line.startsWith("RESULT ")) {
                for (String kv : line.substring(7).trim().split(" ")) {
                    int eq = kv.indexOf('=');
                    if (eq > 0) {
                        result.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                }
            }
        }
        return new Child(code, stdout, stderr, result);
    }

    /** For a child: prints one {@code RESULT k1=v1 k2=v2 ...} line ({@code keysAndValues} alternate; no spaces in values). */
    static void result(Object... keysAndValues) {
        StringBuilder b = new StringBuilder("RESULT");
        for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
            b.append(' ').append(keysAndValues[i]).append('=').append(String.valueOf(keysAndValues[i + 1]).replace(' ', '_'));
        }
        System.out.println(b);
        System.out.flush();
    }

    private static String threadDump(long pid) {
        try {
            Process j = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(pid), "Thread.print").redirectErrorStream(true).start();
            String s = readAll(j.getInputStream());
            j.waitFor(20, TimeUnit.SECONDS);
            return s;
        } catch (IOException | InterruptedException e) {
            return "(no thread dump: " + e + ")";
        }
    }

    private static String readAll(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
