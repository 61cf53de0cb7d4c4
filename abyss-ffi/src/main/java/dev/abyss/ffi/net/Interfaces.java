package dev.abyss.ffi.net;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Network interfaces by name, as a socket's network namespace knows them: the
 * {@code SIOCGIFINDEX} ioctl on the socket itself, so a socket opened inside another namespace
 * resolves names there (the JDK's {@code NetworkInterface} and {@code if_nametoindex} look in the
 * calling thread's namespace).
 */
public final class Interfaces {
    private Interfaces() {
    }

    /** {@code struct ifreq} as SIOCGIFINDEX uses it: the name, and the index in the union after it. */
    public static final StructLayout IFREQ = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(Net.IFNAMSIZ, JAVA_BYTE).withName("ifr_name"),
            JAVA_INT.withName("ifr_ifindex"),
            MemoryLayout.paddingLayout(20)).withName("ifreq");

    private static final long IFR_IFINDEX = IFREQ.byteOffset(groupElement("ifr_ifindex"));

    /**
     * The index of interface {@code name} in the network namespace of socket {@code fd}.
     *
     * @param fd   any socket of the namespace
     * @param name the interface's name, e.g. {@code eth0}
     * @return its index (positive)
     * @throws IllegalArgumentException when the name is empty, too long ({@value Net#IFNAMSIZ} - 1 bytes
     *                                  at most), or no interface has it (ENODEV), naming it
     * @throws NativeException          when the ioctl fails otherwise
     */
    public static int index(int fd, String name) throws NativeException {
        byte[] bytes = checkName(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment req = arena.allocate(IFREQ);
            MemorySegment.copy(bytes, 0, req, JAVA_BYTE, 0, bytes.length);
            int rc = LibC.ioctl(fd, Net.SIOCGIFINDEX, req);
            if (rc == -Errno.ENODEV) {
                throw new IllegalArgumentException("interface '" + name + "': no such interface (SIOCGIFINDEX: ENODEV)");
            }
            LibC.check(rc, "ioctl(SIOCGIFINDEX '" + name + "')");
            return req.get(JAVA_INT, IFR_IFINDEX);
        }
    }

    /**
     * The bytes of an interface name, checked.
     *
     * @param name an interface name
     * @return its bytes, without a NUL
     * @throws IllegalArgumentException when it is empty or longer than {@value Net#IFNAMSIZ} - 1 bytes
     */
    public static byte[] checkName(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length >= Net.IFNAMSIZ || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("interface '" + name + "': a name is 1.." + (Net.IFNAMSIZ - 1) + " bytes");
        }
        return bytes;
    }
}
