package dev.abyss.bench.compare;

import dev.abyss.bench.load.LoadGenerator;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Counts the system calls of a process (every thread) over one measured window with
 * {@code perf stat -e raw_syscalls:sys_enter -p PID}. perf starts with the counter off ({@code -D -1})
 * and is switched on and off through its control descriptor (its stdin; it answers "ack" on its
 * stdout), so the count covers the window and not perf's own start-up. On SIGINT it writes the
 * count (CSV) to a file.
 *
 * <p>No strace fallback: strace stops the traced process on every syscall, so the server would
 * not run at the speed the count is divided by. Without perf the column reads n/a.
 */
final class SyscallCounter implements LoadGenerator.Window {
    private static final String EVENT = "raw_syscalls:sys_enter";
    private static final long ACK_SECONDS = 5;

    private final Process perf;
    private final Path csv;
    private final Path err;
    private final OutputStream control;
    private final BlockingQueue<String> acks = new ArrayBlockingQueue<>(16);
    private String problem;

    private SyscallCounter(Process perf, Path csv, Path err) {
        this.perf = perf;
        this.csv = csv;
        this.err = err;
        this.control = perf.getOutputStream();
        BufferedReader in = new BufferedReader(new InputStreamReader(perf.getInputStream(), StandardCharsets.UTF_8));
        Thread.ofPlatform().daemon(true).name("perf-acks").start(() -> in.lines().forEach(acks::offer));
    }

    /** Null if perf can count syscalls of another process here, else why not. */
    static String unavailableReason() {
        try {
            Process p = new ProcessBuilder("perf", "stat", "-e", EVENT, "-x,", "-D", "-1", "--control", "fd:0,1", "--", "true")
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "perf stat did not finish in 20 s";
            }
            return p.exitValue() == 0 ? null : "perf stat -e " + EVENT + " failed (" + p.exitValue() + "): " + lastLine(out);
        } catch (IOException e) {
            return "perf is not installed (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Starts perf on {@code pid}, counter off; its files go to {@code dir} and are deleted by {@link #finish()}. */
    static SyscallCounter attach(long pid, Path dir) throws IOException {
        Path csv = Files.createTempFile(dir, "perf-" + pid + "-", ".csv");
        Path err = Files.createTempFile(dir, "perf-" + pid + "-", ".err");
        Process p = new ProcessBuilder("perf", "stat", "-e", EVENT, "-x,", "-D", "-1", "--control", "fd:0,1",
                "-p", String.valueOf(pid), "-o", csv.toString())
                .redirectError(err.toFile()).start();
        return new SyscallCounter(p, csv, err);
    }

    @Override
    public void opened() {
        command("enable");
    }

    @Override
    public void closed() {
        command("disable");
    }

    /** Stops perf; the syscalls counted while enabled, or -1 (then {@link #problem()} says why). */
    long finish() {
        try {
            if (perf.isAlive()) {
                // perf stat writes its count on SIGINT only; Process.destroy() would send SIGTERM
                new ProcessBuilder("kill", "-INT", String.valueOf(perf.pid())).start().waitFor(5, TimeUnit.SECONDS);
            }
            if (!perf.waitFor(5, TimeUnit.SECONDS)) {
                perf.destroyForcibly();
                fail("perf did not stop on SIGINT");
            }
            if (problem != null) {
                return -1;
            }
            for (String line : Files.readAllLines(csv)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String value = line.split(",", 2)[0].trim();
                try {
                    return Long.parseLong(value);
                } catch (NumberFormatException e) {
                    fail("perf counted nothing: " + line);
                    return -1;
                }
            }
            fail("perf wrote no count; " + lastLine(Files.readString(err)));
            return -1;
        } catch (IOException e) {
            fail(e.toString());
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
            return -1;
        } finally {
            try {
                Files.deleteIfExists(csv);
                Files.deleteIfExists(err);
            } catch (IOException ignored) {
                // a leftover file in the output directory is harmless
            }
        }
    }

    String problem() {
        return problem;
    }

    private void command(String cmd) {
        if (problem != null) {
            return;
        }
        try {
            control.write((cmd + "\n").getBytes(StandardCharsets.US_ASCII));
            control.flush();
            String ack = acks.poll(ACK_SECONDS, TimeUnit.SECONDS);
            // perf writes "ack\n" with its C string's NUL: every ack after the first starts with one
            if (ack == null || !ack.replace("\0", "").trim().equals("ack")) {
                fail("perf did not acknowledge '" + cmd + "' in " + ACK_SECONDS + " s"
                        + (perf.isAlive() ? "" : " (exited " + perf.exitValue() + ": " + lastLine(Files.readString(err)) + ")"));
            }
        } catch (IOException e) {
            fail("perf control: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }

    private void fail(String why) {
        if (problem == null) {
            problem = why;
        }
    }

    private static String lastLine(String text) {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.getLast().trim();
    }
}
