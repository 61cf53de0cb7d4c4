package dev.abyss.nativetests;

import dev.abyss.ffi.CpuSet;
import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.Bpf;
import dev.abyss.ffi.net.Interfaces;
import dev.abyss.ffi.net.Membership;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.uring.IoUring;
import dev.abyss.ffi.uring.IoUringConstants;
import dev.abyss.ffi.uring.IoUringLayouts;
import dev.abyss.ffi.xdp.BpfAssembler;
import dev.abyss.ffi.xdp.BpfSyscall;
import dev.abyss.ffi.xdp.XdpRedirect;
import dev.abyss.ffi.xdp.Xsk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks every struct layout and constant of abyss-ffi against the C headers of this machine: the
 * test writes a C probe from the Java layouts themselves, compiles it with gcc, runs it, and
 * compares sizeof, offsetof and member sizes of every named field, and the value of every constant.
 * Layout names are C struct names and field names are C member names, so nothing is listed twice.
 */
class AbiTest {
    /** Java layout -> C type. */
    private static final Map<StructLayout, String> STRUCTS = new LinkedHashMap<>();

    static {
        for (StructLayout s : List.of(SockAddr.SOCKADDR_IN, SockAddr.SOCKADDR_IN6, SockAddr.SOCKADDR_UN,
                SockAddr.SOCKADDR_STORAGE, MsgLayouts.IOVEC, MsgLayouts.MSGHDR, MsgLayouts.MMSGHDR,
                MsgLayouts.CMSGHDR, MsgLayouts.SOCK_EXTENDED_ERR, MsgLayouts.IN_PKTINFO, MsgLayouts.IN6_PKTINFO,
                Epoll.EPOLL_EVENT, IoUringLayouts.PARAMS,
                IoUringLayouts.SQRING_OFFSETS, IoUringLayouts.CQRING_OFFSETS, IoUringLayouts.SQE, IoUringLayouts.CQE, IoUringLayouts.BUF,
                IoUringLayouts.BUF_RING, IoUringLayouts.BUF_REG, IoUringLayouts.RECVMSG_OUT, IoUringLayouts.PROBE,
                IoUringLayouts.PROBE_OP, IoUring.GETEVENTS_ARG, IoUring.KERNEL_TIMESPEC,
                Membership.GROUP_REQ, Membership.GROUP_SOURCE_REQ, Membership.IP_MREQN, Membership.IP_MREQ_SOURCE,
                Membership.IPV6_MREQ, Interfaces.IFREQ)) {
            STRUCTS.put(s, "struct " + s.name().orElseThrow());
        }
        STRUCTS.put(Bpf.SOCK_FILTER, "struct sock_filter");
        STRUCTS.put(Bpf.SOCK_FPROG, "struct sock_fprog");
        STRUCTS.put(CpuSet.CPU_SET_T, "cpu_set_t"); // a typedef of an unnamed struct
        // AF_XDP (issue 20)
        for (StructLayout s : List.of(Xsk.SOCKADDR_XDP, Xsk.XDP_UMEM_REG_LAYOUT, Xsk.XDP_RING_OFFSET,
                Xsk.XDP_MMAP_OFFSETS_LAYOUT, Xsk.XDP_DESC, Xsk.XDP_STATISTICS_LAYOUT, Xsk.XDP_OPTIONS_LAYOUT, Xsk.POLLFD)) {
            STRUCTS.put(s, "struct " + s.name().orElseThrow());
        }
    }

    /**
     * Parts of a C union (layout -> C union and the member path prefix): each named field's offset
     * and size are checked as {@code offsetof(union, prefix + field)}, and the part must fit the union.
     * {@code union bpf_attr} has one part per bpf(2) command.
     */
    private static final Map<StructLayout, String[]> UNION_PARTS = new LinkedHashMap<>();

    static {
        UNION_PARTS.put(BpfSyscall.MAP_CREATE_ATTR, new String[]{"union bpf_attr", ""});
        UNION_PARTS.put(BpfSyscall.MAP_ELEM_ATTR, new String[]{"union bpf_attr", ""});
        UNION_PARTS.put(BpfSyscall.PROG_LOAD_ATTR, new String[]{"union bpf_attr", ""});
        UNION_PARTS.put(BpfSyscall.LINK_CREATE_ATTR, new String[]{"union bpf_attr", "link_create."});
    }

    /** Classes whose public static final int/long fields are C constants of the same name. */
    private static final List<Class<?>> CONSTANT_CLASSES =
            List.of(Net.class, Errno.class, Epoll.class, IoUringConstants.class, Bpf.class, CpuSet.class,
                    BpfSyscall.class, BpfAssembler.class, Xsk.class, XdpRedirect.class);

    private static final String HEADERS = """
            #define _GNU_SOURCE
            #include <stdio.h>
            #include <stddef.h>
            #include <sched.h>
            #include <errno.h>
            #include <fcntl.h>
            #include <sys/socket.h>
            #include <sys/un.h>
            #include <sys/epoll.h>
            #include <sys/eventfd.h>
            #include <sys/mman.h>
            #include <sys/syscall.h>
            #include <sys/ioctl.h>
            #include <net/if.h>
            #include <netinet/in.h>
            #include <netinet/udp.h>
            #include <linux/io_uring.h>
            #include <linux/errqueue.h>
            #include <linux/filter.h>
            #include <linux/time_types.h>
            #include <linux/bpf.h>
            #include <linux/if_link.h>
            #include <linux/if_xdp.h>
            #include <poll.h>
            #define MSIZE(t, m) sizeof(((t *) 0)->m)
            """;

    @TempDir
    Path dir;

    @Test
    void layoutsAndConstantsMatchTheCHeaders() throws Exception {
        StringBuilder c = new StringBuilder(HEADERS).append("int main(void) {\n");
        Map<String, Long> expected = new LinkedHashMap<>();
        for (Map.Entry<StructLayout, String> e : STRUCTS.entrySet()) {
            StructLayout layout = e.getKey();
            String type = e.getValue();
            String name = layout.name().orElseThrow();
            line(c, "size " + name, "sizeof(" + type + ")");
            expected.put("size " + name, layout.byteSize());
            for (MemoryLayout member : layout.memberLayouts()) {
                if (member instanceof PaddingLayout || member.name().isEmpty()) {
                    continue;
                }
                String field = member.name().get();
                line(c, "offset " + name + "." + field, "offsetof(" + type + ", " + field + ")");
                expected.put("offset " + name + "." + field, layout.byteOffset(groupElement(field)));
                line(c, "msize " + name + "." + field, "MSIZE(" + type + ", " + field + ")");
                expected.put("msize " + name + "." + field, member.byteSize());
            }
        }
        for (Map.Entry<StructLayout, String[]> e : UNION_PARTS.entrySet()) {
            StructLayout layout = e.getKey();
            String union = e.getValue()[0];
            String prefix = e.getValue()[1];
            String name = layout.name().orElseThrow();
            line(c, "fits " + name, "sizeof(" + union + ") >= " + layout.byteSize());
            expected.put("fits " + name, 1L);
            for (MemoryLayout member : layout.memberLayouts()) {
                if (member instanceof PaddingLayout || member.name().isEmpty()) {
                    continue;
                }
                String field = member.name().get();
                line(c, "offset " + name + "." + field, "offsetof(" + union + ", " + prefix + field + ")");
                expected.put("offset " + name + "." + field, layout.byteOffset(groupElement(field)));
                line(c, "msize " + name + "." + field, "MSIZE(" + union + ", " + prefix + field + ")");
                expected.put("msize " + name + "." + field, member.byteSize());
            }
        }
        for (Class<?> k : CONSTANT_CLASSES) {
            for (Field f : k.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (!Modifier.isPublic(mod) || !Modifier.isStatic(mod) || !Modifier.isFinal(mod)
                        || !(f.getType() == int.class || f.getType() == long.class)) {
                    continue;
                }
                line(c, "const " + f.getName(), f.getName());
                expected.put("const " + f.getName(), ((Number) f.get(null)).longValue());
            }
        }
        for (String call : List.of("SYS_IO_URING_SETUP", "SYS_IO_URING_ENTER", "SYS_IO_URING_REGISTER")) {
            Field f = LibC.class.getDeclaredField(call);
            f.setAccessible(true);
            String cName = "SYS_io_uring_" + call.substring("SYS_IO_URING_".length()).toLowerCase();
            line(c, "const " + cName, cName);
            expected.put("const " + cName, f.getLong(null));
        }
        if ("amd64".equals(System.getProperty("os.arch"))) { // bpf(2)'s number differs by architecture
            Field sysBpf = LibC.class.getDeclaredField("SYS_BPF");
            sysBpf.setAccessible(true);
            line(c, "const SYS_bpf", "SYS_bpf");
            expected.put("const SYS_bpf", sysBpf.getLong(null));
        }
        // the CMSG macros against our arithmetic
        line(c, "cmsg CMSG_DATA offset", "({ struct cmsghdr h; (char *) CMSG_DATA(&h) - (char *) &h; })");
        expected.put("cmsg CMSG_DATA offset", MsgLayouts.CMSG_DATA_OFFSET);
        for (int n : new int[]{1, 4, 16, 20}) {
            line(c, "cmsg CMSG_SPACE(" + n + ")", "CMSG_SPACE(" + n + ")");
            expected.put("cmsg CMSG_SPACE(" + n + ")", MsgLayouts.cmsgSpace(n));
            line(c, "cmsg CMSG_LEN(" + n + ")", "CMSG_LEN(" + n + ")");
            expected.put("cmsg CMSG_LEN(" + n + ")", MsgLayouts.cmsgLen(n));
        }
        c.append("  return 0;\n}\n");

        Map<String, Long> actual = runProbe(c.toString());
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, Long> e : expected.entrySet()) {
            Long cValue = actual.get(e.getKey());
            long javaValue = e.getValue();
            if (cValue == null) {
                mismatches.add(e.getKey() + ": missing from the probe's output");
            } else if (cValue != javaValue && !(e.getKey().startsWith("const ")
                    && (int) javaValue == javaValue && cValue == Integer.toUnsignedLong((int) javaValue))) {
                mismatches.add(e.getKey() + ": C says " + cValue + ", Java says " + javaValue);
            }
        }
        assertTrue(mismatches.isEmpty(), "ABI mismatches against the C headers:\n  " + String.join("\n  ", mismatches));
        assertTrue(expected.size() > 250, "the probe checked only " + expected.size() + " items");
    }

    private static void line(StringBuilder c, String key, String expr) {
        c.append("  printf(\"%s %lld\\n\", \"").append(key).append("\", (long long) (").append(expr).append("));\n");
    }

    private Map<String, Long> runProbe(String source) throws IOException, InterruptedException {
        Path src = dir.resolve("abi_probe.c");
        Path exe = dir.resolve("abi_probe");
        Files.writeString(src, source);
        String compilerOutput = run(List.of(gcc(), "-std=gnu11", "-Wall", "-o", exe.toString(), src.toString()),
                "compiling the ABI probe (source kept at " + src + ")");
        assertEquals("", compilerOutput.strip(), "gcc warned about the generated probe");
        String out = run(List.of(exe.toString()), "running the ABI probe");
        Map<String, Long> values = new LinkedHashMap<>();
        for (String l : out.split("\n")) {
            int sp = l.lastIndexOf(' ');
            values.put(l.substring(0, sp), Long.parseLong(l.substring(sp + 1)));
        }
        return values;
    }

    private static String gcc() {
        try {
            Process p = new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor() == 0) {
                return "gcc";
            }
        } catch (IOException | InterruptedException e) {
            // reported below
        }
        fail("gcc was not found on PATH: the ABI test compiles a C probe against the system headers. "
                + "Install gcc and the C library headers (e.g. 'apt-get install gcc libc6-dev linux-libc-dev').");
        return null;
    }

    private static String run(List<String> command, String what) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(what + " timed out");
        }
        String text = new String(out);
        if (p.exitValue() != 0) {
            fail(what + " failed (exit " + p.exitValue() + "):\n" + text);
        }
        return text;
    }
}
