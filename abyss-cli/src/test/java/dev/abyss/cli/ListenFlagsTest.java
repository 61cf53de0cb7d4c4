package dev.abyss.cli;

import dev.abyss.server.MulticastGroup;
import dev.abyss.server.PathMtuDiscovery;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.UdpOption;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The socket-option flags: what they set, and what a bad one says (naming the flag and the value). */
class ListenFlagsTest {

    @Test
    void flagsReachTheConfig() {
        ServerConfig c = CliArgs.config("--transport", "epoll", "--join", "239.1.2.3@eth0", "--join", "ff15::1:2:3/fd00::1", "--bind", "::",
                "--multicast-interface", "eth0", "--multicast-ttl", "4", "--no-multicast-loop", "--broadcast", "--ttl", "9",
                "--tos", "32", "--mtu-discover", "omit", "--recv-ttl", "--bind-device", "eth1", "--freebind", "--priority", "2",
                "--mark", "4294967295", "--netns", "blue", "--socket-option", "socket:so_rcvbuf=65536",
                "--socket-option", "0:15=0x01000000");
        ServerConfig.ListenOptions l = c.listen();
        assertEquals(List.of(MulticastGroup.parse("239.1.2.3@eth0"), MulticastGroup.parse("ff15::1:2:3/fd00::1")), l.groups());
        assertEquals("eth0", l.get(UdpOption.MULTICAST_INTERFACE));
        assertEquals(4, l.get(UdpOption.MULTICAST_TTL));
        assertEquals(false, l.get(UdpOption.MULTICAST_LOOP));
        assertEquals(true, l.get(UdpOption.BROADCAST));
        assertEquals(9, l.get(UdpOption.TTL));
        assertEquals(32, l.get(UdpOption.TRAFFIC_CLASS));
        assertEquals(PathMtuDiscovery.OMIT, l.get(UdpOption.MTU_DISCOVER));
        assertEquals(true, l.get(UdpOption.RECEIVE_TTL));
        assertEquals("eth1", l.get(UdpOption.BIND_TO_DEVICE));
        assertEquals(true, l.get(UdpOption.FREEBIND));
        assertEquals(2, l.get(UdpOption.PRIORITY));
        assertEquals(-1, l.get(UdpOption.MARK));
        assertEquals("blue", l.netns());
        assertArrayEquals(UdpOption.intBytes(65536), l.get(UdpOption.raw(1, 8)));
        assertArrayEquals(new byte[]{1, 0, 0, 0}, l.get(UdpOption.raw(0, 15)));
        assertTrue(CliArgs.config("--port", "0").listen().isEmpty(), "nothing unless asked");
    }

    @Test
    void badValuesNameTheFlagAndTheValue() {
        for (List<String> c : List.of(
                List.of("--ttl", "0", "--ttl 0"),
                List.of("--ttl", "300", "--ttl 300"),
                List.of("--multicast-ttl", "256", "--multicast-ttl 256"),
                List.of("--tos", "-1", "--tos -1"),
                List.of("--priority", "-3", "--priority -3"),
                List.of("--mark", "5000000000", "--mark 5000000000"),
                List.of("--bind-device", "an-interface-name-too-long", "--bind-device an-interface-name-too-long"),
                List.of("--join", "198.18.0.1", "--join 198.18.0.1"),
                List.of("--join", "239.1.2.3/ff15::1", "--join 239.1.2.3/ff15::1"),
                List.of("--join", "example.org", "--join example.org"),
                List.of("--netns", " ", "--netns"),
                List.of("--socket-option", "socket:so_rcvbuf", "--socket-option socket:so_rcvbuf"),
                List.of("--socket-option", "nosuchlevel:1=1", "unknown level 'nosuchlevel'"),
                List.of("--socket-option", "ip:ip_nosuch=1", "unknown option name 'ip_nosuch'"),
                List.of("--socket-option", "ip:2=0xZZ", "is not hex bytes"),
                List.of("--socket-option", "ip:2=lots", "neither a decimal int nor hex bytes"),
                List.of("--mtu-discover", "sometimes", "--mtu-discover"))) {
            String err = CliArgs.failure(c.get(0), c.get(1));
            assertTrue(err.startsWith("abyss: ") && err.contains(c.get(2)), c + " says: " + err);
        }
        String nio = CliArgs.failure("--transport", "nio", "--ttl", "5");
        assertTrue(nio.contains("TTL") && nio.contains("NIO"), nio);
    }
}
