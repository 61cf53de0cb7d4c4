package dev.abyss.nativetests;

import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's "Scaling out", tested: three Abyss instances behind the kernel's own load balancer.
 * Named network namespaces of the test's own (addresses from 198.18.0.0/15 only): the clients
 * ({@code cl}, 198.18.4.2), a balancer ({@code lb}) and three instances ({@code b1..b3}, 198.18.N.1,
 * each a {@link ScaleOutInstanceChild} whose default route goes back through the balancer, so
 * conntrack un-NATs the replies). The balancer forwards, and its nftables rules DNAT the virtual
 * address 198.18.100.1:7000 by {@code jhash} of the source address and port into six buckets, two
 * per instance ({@link #NFT}), and count in the forward chain what each instance is sent.
 *
 * <p>Phase 1: {@code rounds} rounds of one datagram per peer ({@link ScaleOutClientChild}, one
 * source port per peer): every peer is answered every time, always by the same instance, whose
 * reply names it and the peer's real address; all three instances serve; each instance's
 * datagramsIn equals the balancer's counter for it, they add up to what the clients sent, and each
 * saw as many new sessions as it has peers. Then B3 is taken out: its two buckets point at B1 and B2
 * and its conntrack entries are deleted ({@code conntrack -D --reply-src}). Phase 2: B3's peers are
 * answered by B1 or B2 from then on, each always by the same one, as new sessions there
 * (sessionsOpened grows by exactly the peers moved to it); every other peer keeps its instance; B3
 * receives nothing more; the counters still agree.
 *
 * <p>Needs root (named namespaces), {@code nft} and {@code conntrack} (bin/test-deps.list), and
 * netfilter NAT in the kernel; skipped with the reason otherwise. The namespaces (and with them the
 * veths and the rules) are removed at the end, even on failure. Default: 64 peers, 5 rounds per
 * phase (a few seconds); long mode: {@code -Dabyss.scaleout.peers=512 -Dabyss.scaleout.rounds=200}.
 */
@Timeout(180)
class ScaleOutTest {
    static final String VIP = "198.18.100.1";
    static final int PORT = 7000;
    static final String CLIENT = "198.18.4.2";
    static final String[] INSTANCES = {"B1", "B2", "B3"};

    /** The balancer's ruleset, as the README shows it. */
    static final String NFT = """
            table ip abyss_lb {
              map backends {
                type mark : ipv4_addr
                elements = { 0 : 198.18.1.1, 1 : 198.18.2.1, 2 : 198.18.3.1,
                             3 : 198.18.1.1, 4 : 198.18.2.1, 5 : 198.18.3.1 }
              }
              counter b1 { }
              counter b2 { }
              counter b3 { }
              chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
                ip daddr 198.18.100.1 udp dport 7000 meta mark set jhash ip saddr . udp sport mod 6 dnat to meta mark map @backends
              }
              chain forward {
                type filter hook forward priority filter; policy accept;
                ip daddr 198.18.1.1 udp dport 7000 counter name b1
                ip daddr 198.18.2.1 udp dport 7000 counter name b2
                ip daddr 198.18.3.1 udp dport 7000 counter name b3
              }
            }
            """;

    /** Takes B3 out: its buckets go to B1 and B2 (one transaction), then its flows are forgotten. */
    static final String REMOVE_B3 = "nft 'delete element ip abyss_lb backends { 2, 5 } ; "
            + "add element ip abyss_lb backends { 2 : 198.18.1.1, 5 : 198.18.2.1 }' "
            + "&& conntrack -D -p udp --reply-src 198.18.3.1 >/dev/null 2>&1; conntrack -L -p udp --reply-src 198.18.3.1 2>/dev/null | wc -l";

    private static final Pattern COUNTER = Pattern.compile("counter (b\\d) \\{\\s*packets (\\d+) bytes \\d+");

    @Test
    void aPeerStaysOnOneInstanceAndOnlyTheRemovedInstancesPeersMove() {
        int peers = Integer.getInteger("abyss.scaleout.peers", 64);
        int rounds = Integer.getInteger("abyss.scaleout.rounds", 5);
        String prefix = "abyss-so-" + ProcessHandle.current().pid() + "-";
        Skip.ifUnavailable("named network namespaces", NetworkNamespace.namedUnavailable(prefix + "probe"));
        for (String tool : new String[]{"nft", "conntrack"}) {
            Skip.unless(NetworkNamespace.sh("command -v " + tool, 10).code() == 0,
                    tool + " is not installed (bin/test-deps.list: packages nftables, conntrack)");
        }
        String lb = prefix + "lb";
        String cl = prefix + "cl";
        List<String> names = new ArrayList<>(List.of(lb, cl, prefix + "b1", prefix + "b2", prefix + "b3"));
        List<NetworkNamespace.Child> children = new ArrayList<>();
        try {
            NetworkNamespace.Run setup = NetworkNamespace.sh(topology(prefix), 30);
            Skip.unless(setup.code() == 0, "cannot wire the namespaces: " + setup.describe());
            NetworkNamespace.Run rules = NetworkNamespace.sh("ip netns exec " + lb + " nft -f - <<'EOF'\n" + NFT + "EOF\n", 20);
            Skip.unless(rules.code() == 0, "nftables NAT (jhash, dnat to a map) unavailable in this kernel: " + rules.describe());

            NetworkNamespace.Child[] instances = new NetworkNamespace.Child[3];
            for (int i = 0; i < 3; i++) {
                instances[i] = NetworkNamespace.startJava(prefix + "b" + (i + 1), ScaleOutInstanceChild.class,
                        List.of(INSTANCES[i], Integer.toString(PORT)));
                children.add(instances[i]);
            }
            NetworkNamespace.Child client = NetworkNamespace.startJava(cl, ScaleOutClientChild.class,
                    List.of(CLIENT, VIP, Integer.toString(PORT), Integer.toString(peers)));
            children.add(client);
            Duration start = Duration.ofSeconds(60);
            for (NetworkNamespace.Child c : instances) {
                c.expect("READY", start);
            }
            client.expect("READY", start);
            long t0 = System.nanoTime();

            // phase 1: three instances
            String[] home = round(client, 1, peers);
            for (int r = 2; r <= rounds; r++) {
                assertEquals(Arrays.asList(home), Arrays.asList(round(client, r, peers)), "round " + r + ": every peer on the same instance");
            }
            Map<String, Integer> perInstance = count(home);
            for (String name : INSTANCES) {
                assertTrue(perInstance.getOrDefault(name, 0) > 0, () -> "all three instances serve: " + perInstance);
            }
            long[][] stats1 = stats(instances);
            long[] counters1 = counters(lb);
            for (int i = 0; i < 3; i++) {
                assertEquals(counters1[i], stats1[i][0], INSTANCES[i] + ": datagramsIn equals the balancer's counter");
                assertEquals((long) perInstance.get(INSTANCES[i]) * rounds, stats1[i][0], INSTANCES[i] + ": one datagram per round per peer");
                assertEquals((long) perInstance.get(INSTANCES[i]), stats1[i][1], INSTANCES[i] + ": one session per peer");
            }
            assertEquals((long) peers * rounds, stats1[0][0] + stats1[1][0] + stats1[2][0], "the instances got all the clients sent");

            // B3 out of the map, its conntrack entries flushed
            NetworkNamespace.Run removal = NetworkNamespace.sh("ip netns exec " + lb + " sh -c \"" + REMOVE_B3.replace("\"", "\\\"") + "\"", 20);
            assertEquals(0, removal.code(), removal::describe);
            assertEquals("0", removal.output().strip(), () -> "no flow to B3 left: " + removal.describe());

            // phase 2: B3's peers move, the others stay
            String[] after = round(client, rounds + 1, peers);
            for (int r = rounds + 2; r <= 2 * rounds; r++) {
                assertEquals(Arrays.asList(after), Arrays.asList(round(client, r, peers)), "round " + r + ": every peer on the same instance");
            }
            int[] moved = new int[3];
            for (int p = 0; p < peers; p++) {
                if (home[p].equals("B3")) {
                    assertNotEquals("B3", after[p], "peer " + p + " left B3");
                    moved[Arrays.asList(INSTANCES).indexOf(after[p])]++;
                } else {
                    assertEquals(home[p], after[p], "peer " + p + " undisturbed");
                }
            }
            assertEquals(perInstance.get("B3"), moved[0] + moved[1]);
            long[][] stats2 = stats(instances);
            long[] counters2 = counters(lb);
            for (int i = 0; i < 3; i++) {
                assertEquals(counters2[i], stats2[i][0], INSTANCES[i] + ": datagramsIn equals the balancer's counter");
                assertEquals((long) moved[i], stats2[i][1] - stats1[i][1], INSTANCES[i] + ": B3's peers are new sessions here, nobody else");
            }
            assertEquals(stats1[2][0], stats2[2][0], "B3 receives nothing once out");
            assertEquals(2L * peers * rounds, stats2[0][0] + stats2[1][0] + stats2[2][0], "the instances got all the clients sent");
            System.out.printf("SCALE-OUT: %d peers, %d+%d rounds in %d ms; homes %s; B3's %d peers moved %d to B1, %d to B2; "
                            + "datagramsIn %d/%d/%d = balancer counters %s%n", peers, rounds, rounds, (System.nanoTime() - t0) / 1_000_000,
                    perInstance, perInstance.get("B3"), moved[0], moved[1], stats2[0][0], stats2[1][0], stats2[2][0], Arrays.toString(counters2));
        } finally {
            for (NetworkNamespace.Child c : children) {
                c.close();
            }
            NetworkNamespace.deleteNamed(names);
        }
    }

    /** The namespaces and veths: cl <-> lb (198.18.4.0/24), lb <-> bN (198.18.N.0/24); each side's routes via lb. */
    static String topology(String p) {
        StringBuilder s = new StringBuilder("set -e\n");
        for (String n : new String[]{"lb", "cl", "b1", "b2", "b3"}) {
            s.append("ip netns add ").append(p).append(n).append("\nip -n ").append(p).append(n).append(" link set lo up\n");
        }
        s.append("ip -n ").append(p).append("lb link add cl0 type veth peer name eth0 netns ").append(p).append("cl\n");
        s.append("ip -n ").append(p).append("lb addr add 198.18.4.1/24 dev cl0\nip -n ").append(p).append("lb link set cl0 up\n");
        s.append("ip -n ").append(p).append("cl addr add ").append(CLIENT).append("/24 dev eth0\nip -n ").append(p).append("cl link set eth0 up\n");
        s.append("ip -n ").append(p).append("cl route add default via 198.18.4.1\n");
        for (int i = 1; i <= 3; i++) {
            String b = p + "b" + i;
            s.append("ip -n ").append(p).append("lb link add b").append(i).append(" type veth peer name eth0 netns ").append(b).append('\n');
            s.append("ip -n ").append(p).append("lb addr add 198.18.").append(i).append(".254/24 dev b").append(i).append('\n');
            s.append("ip -n ").append(p).append("lb link set b").append(i).append(" up\n");
            s.append("ip -n ").append(b).append(" addr add 198.18.").append(i).append(".1/24 dev eth0\n");
            s.append("ip -n ").append(b).append(" link set eth0 up\n");
            s.append("ip -n ").append(b).append(" route add default via 198.18.").append(i).append(".254\n");
        }
        s.append("ip netns exec ").append(p).append("lb sysctl -qw net.ipv4.ip_forward=1\n");
        return s.toString();
    }

    /** One round: every peer answered, by a well-formed reply; the instance per peer. */
    private static String[] round(NetworkNamespace.Child client, int r, int peers) {
        client.send("ROUND " + r);
        String[] f = client.expect("ANSWERS " + r + " ", Duration.ofSeconds(20)).split(" ");
        assertEquals(peers, f.length, client::output);
        for (int p = 0; p < peers; p++) {
            String a = f[p];
            assertTrue(Arrays.asList(INSTANCES).contains(a), () -> "round " + r + ": every peer answered by an instance naming it and the peer "
                    + "('-' none, '?' malformed): " + String.join(" ", f));
        }
        return f;
    }

    private static Map<String, Integer> count(String[] home) {
        Map<String, Integer> m = new HashMap<>();
        for (String h : home) {
            m.merge(h, 1, Integer::sum);
        }
        return m;
    }

    /** Per instance: datagramsIn, sessionsOpened, after checking nothing failed. */
    private static long[][] stats(NetworkNamespace.Child[] instances) {
        long[][] s = new long[3][];
        for (int i = 0; i < 3; i++) {
            NetworkNamespace.Child instance = instances[i];
            // the replies reached the client; the instance's send counters follow their completions
            Map<String, String> m = Await.await(INSTANCES[i] + " counts every datagram it answered as sent", () -> {
                instance.send("STATS");
                return new NetworkNamespace.Run(0, "RESULT " + instance.expect("RESULT ", Duration.ofSeconds(20))).result();
            }, r -> r.get("datagramsIn").equals(r.get("datagramsOut")));
            assertEquals("0", m.get("sendErrors"), m::toString);
            assertEquals("0", m.get("handlerErrors"), m::toString);
            s[i] = new long[]{Long.parseLong(m.get("datagramsIn")), Long.parseLong(m.get("sessionsOpened"))};
        }
        return s;
    }

    /** The balancer's per-instance packet counters. */
    private static long[] counters(String lb) {
        NetworkNamespace.Run list = NetworkNamespace.sh("ip netns exec " + lb + " nft list counters table ip abyss_lb", 20);
        assertEquals(0, list.code(), list::describe);
        long[] c = new long[3];
        Matcher m = COUNTER.matcher(list.output());
        int found = 0;
        while (m.find()) {
            c[m.group(1).charAt(1) - '1'] = Long.parseLong(m.group(2));
            found++;
        }
        assertEquals(3, found, list::describe);
        return c;
    }
}
