package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every listen option's bad value is refused when set, naming the option and the value; contradictions at build(). */
class ListenOptionsConfigTest {

    private static ServerConfig.Builder echo() {
        return ServerConfig.builder().handler(new Echo());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void refused(UdpOption option, Object value, String shown) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> echo().socketOption(option, value),
                option + " " + value);
        assertTrue(e.getMessage().contains(option.name()) && e.getMessage().contains(shown), e.getMessage());
    }

    @Test
    void everyOptionsBadValueNamesOptionAndValue() {
        refused(UdpOption.TTL, 0, "0");
        refused(UdpOption.TTL, 256, "256");
        refused(UdpOption.MULTICAST_TTL, -1, "-1");
        refused(UdpOption.MULTICAST_TTL, 300, "300");
        refused(UdpOption.TRAFFIC_CLASS, 256, "256");
        refused(UdpOption.PRIORITY, -2, "-2");
        refused(UdpOption.BIND_TO_DEVICE, "", "''");
        refused(UdpOption.BIND_TO_DEVICE, "a-name-longer-than-15", "a-name-longer-than-15");
        refused(UdpOption.MULTICAST_INTERFACE, "eth0/1", "eth0/1");
        refused(UdpOption.BROADCAST, "yes", "yes");
        refused(UdpOption.MARK, 1L, "1");
        refused(UdpOption.raw(1, 6), new byte[UdpOption.MAX_RAW_BYTES + 1], "raw(1,6)");
        IllegalArgumentException raw = assertThrows(IllegalArgumentException.class, () -> UdpOption.raw(-1, 5));
        assertTrue(raw.getMessage().contains("raw(-1, 5)"), raw.getMessage());
        assertThrows(NullPointerException.class, () -> echo().socketOption(UdpOption.TTL, null));
        IllegalArgumentException ns = assertThrows(IllegalArgumentException.class, () -> echo().netns(" "));
        assertTrue(ns.getMessage().contains("netns"), ns.getMessage());
    }

    @Test
    void multicastMembershipsAreCheckedAndParsed() throws Exception {
        MulticastGroup g = MulticastGroup.parse("239.1.2.3@eth0/198.18.0.1");
        assertEquals(InetAddress.getByName("239.1.2.3"), g.group());
        assertEquals("eth0", g.interfaceName());
        assertEquals(InetAddress.getByName("198.18.0.1"), g.source());
        assertEquals("239.1.2.3@eth0/198.18.0.1", g.toString());
        MulticastGroup v6 = MulticastGroup.parse("ff15::1:2:3/fd00::1");
        assertEquals(InetAddress.getByName("ff15::1:2:3"), v6.group());
        assertEquals(null, v6.interfaceName());
        for (String bad : List.of("198.18.0.1", "239.1.2.3/239.1.2.4", "ff15::1/198.18.0.1", "example.org", "239.1.2.3@", "")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MulticastGroup.parse(bad), bad);
            assertTrue(e.getMessage().contains("joinGroup") || e.getMessage().contains("interface"), e.getMessage());
        }
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> echo().joinGroup(g).joinGroup(MulticastGroup.parse("239.1.2.3@eth0/198.18.0.1")));
        assertTrue(twice.getMessage().contains("239.1.2.3@eth0/198.18.0.1") && twice.getMessage().contains("twice"), twice.getMessage());
    }

    @Test
    void contradictionsAreRefusedAtBuildNamingBoth() throws Exception {
        IllegalArgumentException v6onV4 = assertThrows(IllegalArgumentException.class, () -> echo()
                .bindAddress(InetAddress.getByName("0.0.0.0")).joinGroup(MulticastGroup.parse("ff15::1:2:3@lo")).build());
        assertTrue(v6onV4.getMessage().contains("ff15") && v6onV4.getMessage().contains("0.0.0.0"), v6onV4.getMessage());
        IllegalArgumentException unix = assertThrows(IllegalArgumentException.class, () -> echo()
                .bindUnix("/tmp/abyss-x.sock").socketOption(UdpOption.TTL, 3).build());
        assertTrue(unix.getMessage().contains("TTL") && unix.getMessage().contains("AF_UNIX"), unix.getMessage());
        IllegalArgumentException nioJoin = assertThrows(IllegalArgumentException.class, () -> echo().transport(TransportKind.NIO)
                .bindAny().joinGroup(MulticastGroup.parse("239.1.2.3")).build());
        assertTrue(nioJoin.getMessage().contains("NIO") && nioJoin.getMessage().contains("interface"), nioJoin.getMessage());
        ServerConfig ok = echo().socketOption(UdpOption.TTL, 3).socketOption(UdpOption.TTL, 4).netns("blue").build();
        assertEquals(Map.of(UdpOption.TTL, 4), ok.listen().options(), "the last value set");
        assertEquals(4, ok.listen().get(UdpOption.TTL));
        assertEquals("blue", ok.listen().netns());
        assertTrue(ok.toString().contains("TTL=4") && ok.toString().contains("netns=blue"), ok.toString());
    }
}
