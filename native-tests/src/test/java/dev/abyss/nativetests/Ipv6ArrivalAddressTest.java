package dev.abyss.nativetests;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

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
        return NetworkNamespace.unavailable(setupScript(), "ip -6 addr show dev lo", Ipv6ArrivalAddressChild.EXTRA);
    }

    private static String setupScript() {
        return "ip link set lo up && ip addr add " + Ipv6ArrivalAddressChild.EXTRA + "/128 dev lo nodad";
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void repliesLeaveFromTheIpv6AddressAskedFor(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Skip.ifUnavailable("a network namespace with a second IPv6 address", namespaceUnavailable());

        NetworkNamespace.Run child = NetworkNamespace.runJava(setupScript(), Ipv6ArrivalAddressChild.class, List.of(kind.name()),
                CHILD_TIMEOUT_SECONDS);

        String described = child.describe();
        if (child.code() == 3) {
            Skip.unless(false, "transport " + kind + " unavailable inside the namespace: " + described);
        }
        assertEquals(0, child.code(), () -> "the child failed: " + described);
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
}
