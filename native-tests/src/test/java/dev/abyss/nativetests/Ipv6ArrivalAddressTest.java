package dev.abyss.nativetests;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Replies leave from the IPv6 address the request came to. The host's loopback has {@code ::1}
 * only, so a child JVM ({@link Ipv6ArrivalAddressChild}) runs in a network namespace of its own
 * ({@code unshare -rn}) whose loopback also has {@code fd00::5}. There an Abyss server bound to
 * {@code [::]:0} (EPOLL, then IO_URING) answers a client bound to {@code ::1} and connected to
 * {@code [fd00::5]} from {@code fd00::5} (a connected socket receives nothing from any other
 * source), inline and through a cross-thread send; a client bound to {@code fd00::5} and connected
 * to {@code [::1]} from {@code ::1}; a plain {@code ::1} client from {@code ::1}; and
 * {@code session.localAddress()} names the address each peer talked to. A control shows that the
 * kernel alone (a JDK {@code [::]} socket, no IPV6_PKTINFO) answers the first request from
 * {@code ::1}: without the library's source address the first exchange would time out.
 *
 * <p>Skipped, with the reason, where {@code unshare} or {@code ip} is missing or the namespace
 * cannot be made (no user namespaces, IPv6 disabled).
 */
@Timeout(90)
class Ipv6ArrivalAddressTest {
    private static final long CHILD_TIMEOUT_SECONDS = 40;

    /** Why a namespace with fd00::5 cannot be made here (null: it can); probed once. */
    private static String namespaceUnavailable;
    private static boolean probed;

    private static synchronized String namespaceUnavailable() {
        if (!probed) {
            probed = true;
            namespaceUnavailable = probe();
        }
        return namespaceUnavailable;
    }

    private static String probe() {
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
        Run setup = run(List.of("unshare", "-rn", "sh", "-c", setupScript() + " && ip -6 addr show dev lo"), 10);
        if (setup.code != 0 || !setup.output.contains(Ipv6ArrivalAddressChild.EXTRA)) {
            return "cannot give the namespace's loopback " + Ipv6ArrivalAddressChild.EXTRA + " (exit " + setup.code + "): "
                    + setup.output.strip();
        }
        return null;
    }

    private static String setupScript() {
        return "ip link set lo up && ip addr add " + Ipv6ArrivalAddressChild.EXTRA + "/128 dev lo nodad";
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void repliesLeaveFromTheIpv6AddressAskedFor(TransportKind kind) throws Exception {
        String why = Transports.unavailableReason(kind);
        assumeTrue(why == null, () -> kind + " unavailable: " + why);
        String noNamespace = namespaceUnavailable();
        assumeTrue(noNamespace == null, () -> "no network namespace with a second IPv6 address: " + noNamespace);

        List<String> java = new ArrayList<>();
        java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        java.add("--enable-native-access=ALL-UNNAMED");
        java.add("-cp");
        java.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        java.add(Ipv6ArrivalAddressChild.class.getName());
        java.add(kind.name());
        // exec: the JVM replaces the shell, so the process killed at the timeout is the JVM itself
        List<String> cmd = List.of("unshare", "-rn", "sh", "-c", setupScript() + " && exec \"$@\"", "sh");
        List<String> all = new ArrayList<>(cmd);
        all.addAll(java);
        Run child = run(all, CHILD_TIMEOUT_SECONDS);

        String described = "exit " + child.code + "\n" + child.output;
        if (child.code == 3) {
            assumeTrue(false, () -> "transport " + kind + " unavailable inside the namespace: " + described);
        }
        assertEquals(0, child.code, () -> "the child failed: " + described);
        Map<String, String> result = child.result();
        assertNotNull(result, () -> "no RESULT line: " + described);
        System.out.println("IPV6 ARRIVAL " + kind + ": " + result);
        String extra = "fd00:0:0:0:0:0:0:5";
        String loop6 = "0:0:0:0:0:0:0:1";
        assertEquals(kind.name(), result.get("kind"), described);
        assertEquals(extra, result.get("toExtra"), () -> "::1 -> [fd00::5] answered from fd00::5: " + described);
        assertEquals(extra, result.get("toExtraLater"), () -> "a cross-thread reply from fd00::5 too: " + described);
        assertEquals(loop6, result.get("fromExtraToLoopback"), () -> "fd00::5 -> [::1] answered from ::1: " + described);
        assertEquals(loop6, result.get("toLoopback"), () -> "::1 -> [::1] answered from ::1: " + described);
        assertEquals(loop6, result.get("controlSource"),
                () -> "control: the kernel alone would answer ::1 -> [fd00::5] from ::1 (else this test tells nothing): " + described);
    }

    /** A finished (or killed: code -1) process: exit code and its stdout and stderr together. */
    private record Run(int code, String output) {
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
    }

    /** Runs {@code cmd}, waits up to {@code timeoutSeconds}, then kills it and its descendants (code -1). */
    private static Run run(List<String> cmd, long timeoutSeconds) {
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
