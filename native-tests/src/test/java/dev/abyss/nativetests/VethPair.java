package dev.abyss.nativetests;

import dev.abyss.testsupport.Skip;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The namespace pair of the AF_XDP tests and benchmarks: two named network namespaces joined by a
 * veth pair, made by {@code bin/veth-pair} (one script for tests, benchmarks and people trying it):
 * <pre>
 *   server namespace  veth-s  198.18.0.1/24  fd00::1/64  &lt;--&gt;  veth-c  198.18.0.2/24  fd00::2/64  client namespace
 * </pre>
 * with permanent neighbour entries both ways, optionally several RX/TX queues per end
 * ({@code numrxqueues}) and TX checksum offload off (so frames carry complete UDP checksums).
 * Names carry this JVM's pid ({@code ab<pid>-<tag>-s}, {@code -c}), so concurrent runs in other
 * worktrees never meet; {@link #create} first removes the pairs of JVMs that are gone (a run killed
 * before its {@link #close}). Use it with try-with-resources: {@link #close} removes both namespaces,
 * whatever the test did.
 *
 * <pre>{@code
 * try (VethPair pair = VethPair.create("echo", 2, false)) {   // skips, saying why, where it cannot
 *     NetworkNamespace.Child server = pair.startServerJava(MyChild.class, List.of(...));
 *     pair.inClient("ping -c1 " + VethPair.SERVER_V4, 10);
 * }
 * }</pre>
 */
final class VethPair implements AutoCloseable {
    /** The server's addresses (on veth-s) and the client's (on veth-c). */
    static final String SERVER_V4 = "198.18.0.1";
    static final String CLIENT_V4 = "198.18.0.2";
    static final String SERVER_V6 = "fd00::1";
    static final String CLIENT_V6 = "fd00::2";
    static final String SERVER_IF = "veth-s";
    static final String CLIENT_IF = "veth-c";
    private static final Pattern OURS = Pattern.compile("ab(\\d+)-[A-Za-z0-9_.]+-[sc]");

    private final String name;
    private final Map<String, String> facts;

    private VethPair(String name, Map<String, String> facts) {
        this.name = name;
        this.facts = facts;
    }

    /** {@return the script, found from the working directory (a module's or the root)} */
    static Path script() {
        for (Path p : List.of(Path.of("bin", "veth-pair"), Path.of("..", "bin", "veth-pair"))) {
            if (Files.isExecutable(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("bin/veth-pair not found from " + Path.of("").toAbsolutePath());
    }

    /**
     * Makes the pair, or skips the test saying why (not root, no named namespaces, no veth, no
     * ethtool when {@code txChecksumOff}).
     *
     * @param tag           a short name for the test (letters, digits)
     * @param queues        RX and TX queues per end
     * @param txChecksumOff turn TX checksum offload off on both ends (complete checksums on the wire)
     */
    static VethPair create(String tag, int queues, boolean txChecksumOff) {
        String name = "ab" + ProcessHandle.current().pid() + "-" + tag;
        Skip.ifUnavailable("named network namespaces", NetworkNamespace.namedUnavailable(name + "-p"));
        if (txChecksumOff) {
            Skip.unless(NetworkNamespace.sh("command -v ethtool", 10).code() == 0,
                    "ethtool is not installed (bin/test-deps.list: package ethtool)");
        }
        removeOrphans();
        NetworkNamespace.Run up = NetworkNamespace.sh(script() + " up " + name + " --queues " + queues + " --tx-checksum "
                + (txChecksumOff ? "off" : "on"), 30);
        if (up.code() != 0) {
            NetworkNamespace.sh(script() + " down " + name, 20);
            Skip.unless(false, "cannot make a veth pair between namespaces (exit " + up.code() + "): " + up.output().strip());
        }
        Map<String, String> facts = new HashMap<>();
        for (String line : up.output().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                facts.put(line.substring(0, eq), line.substring(eq + 1).strip());
            }
        }
        return new VethPair(name, facts);
    }

    /** Removes the pairs of JVMs that no longer run (killed before they could close theirs). */
    private static void removeOrphans() {
        String[] names = Path.of("/run/netns").toFile().list();
        if (names == null) {
            return;
        }
        for (String n : names) {
            Matcher m = OURS.matcher(n);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                NetworkNamespace.deleteNamed(List.of(n));
            }
        }
    }

    String serverNs() {
        return facts.get("server_ns");
    }

    String clientNs() {
        return facts.get("client_ns");
    }

    /** {@return the server end's MAC as xx:xx:xx:xx:xx:xx} */
    String serverMac() {
        return facts.get("server_mac");
    }

    String clientMac() {
        return facts.get("client_mac");
    }

    /** {@return the server end's interface index (in its namespace)} */
    int serverIfindex() {
        return Integer.parseInt(facts.get("server_ifindex"));
    }

    int queues() {
        return Integer.parseInt(facts.get("queues"));
    }

    /** {@return {@code mac} (xx:xx:...) as a number, first octet most significant} */
    static long macNumber(String mac) {
        return Long.parseLong(mac.replace(":", ""), 16);
    }

    /** Runs a shell script in the server's namespace. */
    NetworkNamespace.Run inServer(String script, long timeoutSeconds) {
        return NetworkNamespace.run(List.of("ip", "netns", "exec", serverNs(), "sh", "-c", script), timeoutSeconds);
    }

    /** Runs a shell script in the client's namespace. */
    NetworkNamespace.Run inClient(String script, long timeoutSeconds) {
        return NetworkNamespace.run(List.of("ip", "netns", "exec", clientNs(), "sh", "-c", script), timeoutSeconds);
    }

    /** Starts a child JVM in the server's namespace (see {@link NetworkNamespace#startJava}). */
    NetworkNamespace.Child startServerJava(Class<?> main, List<String> args) {
        return NetworkNamespace.startJava(serverNs(), main, args);
    }

    /** Starts a child JVM in the client's namespace. */
    NetworkNamespace.Child startClientJava(Class<?> main, List<String> args) {
        return NetworkNamespace.startJava(clientNs(), main, args);
    }

    /** {@return whether both namespaces still exist} */
    boolean exists() {
        return Files.exists(Path.of("/run/netns", serverNs())) || Files.exists(Path.of("/run/netns", clientNs()));
    }

    /** Removes both namespaces (and the pair with them); never throws. */
    @Override
    public void close() {
        NetworkNamespace.sh(script() + " down " + name, 20);
    }

    @Override
    public String toString() {
        return "VethPair" + facts;
    }
}
