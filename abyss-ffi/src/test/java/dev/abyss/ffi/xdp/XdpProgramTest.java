package dev.abyss.ffi.xdp;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.abyss.ffi.xdp.BpfAssembler.BPF_B;
import static dev.abyss.ffi.xdp.BpfAssembler.BPF_W;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R0;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R1;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The assembler's encoding, and the XDP program loaded and verified by this machine's kernel (for
 * IPv4, IPv6 and both), shown by {@code bpftool prog dump xlated} where bpftool is installed; a
 * program the verifier refuses surfaces its log. Loading needs CAP_BPF (root here); skipped with the
 * reason otherwise. Nothing is attached to an interface here (that happens in network namespaces in
 * native-tests).
 */
class XdpProgramTest {

    @Test
    void assemblesInstructionsAndResolvesLabels() {
        byte[] code = new BpfAssembler()
                .mov64Imm(R0, 2)
                .jump32Imm(BpfAssembler.BPF_JNE, R1, 0x1234, "end")
                .mov64Imm(R0, 1)
                .label("end")
                .exit()
                .assemble();
        assertArrayEquals(new byte[]{
                (byte) 0xb7, 0x00, 0, 0, 2, 0, 0, 0,           // mov64 r0, 2
                0x56, 0x01, 1, 0, 0x34, 0x12, 0, 0,            // jne32 r1, 0x1234, +1
                (byte) 0xb7, 0x00, 0, 0, 1, 0, 0, 0,           // mov64 r0, 1
                (byte) 0x95, 0, 0, 0, 0, 0, 0, 0}, code);      // exit
        assertThrows(IllegalStateException.class, () -> new BpfAssembler().jump("nowhere").assemble());
        assertThrows(IllegalArgumentException.class, () -> new BpfAssembler().label("x").label("x"));
    }

    @Test
    void theKernelVerifiesTheProgramForEveryAddressShape() throws Exception {
        int map = xskMapOrSkip();
        try {
            for (byte[] address : new byte[][]{null, {(byte) 198, 18, 20, 1}, new byte[4], ipv6(), new byte[16]}) {
                byte[] program = XdpRedirect.program(map, address, 7000);
                int fd = BpfSyscall.loadXdpProgram("abyss_test", program);
                try {
                    assertTrue(fd > 0);
                    assertTrue(program.length / 8 < 80, "a few dozen instructions, was " + program.length / 8);
                    if (address != null && address.length == 4 && address[0] != 0) {
                        dumpWithBpftool(fd);
                    }
                } finally {
                    LibC.close(fd);
                }
            }
        } finally {
            LibC.close(map);
        }
    }

    @Test
    void aRefusedProgramSurfacesTheVerifiersLog() throws Exception {
        int map = xskMapOrSkip();
        LibC.close(map);
        // reads a packet byte without the bounds check the verifier insists on
        byte[] unchecked = new BpfAssembler()
                .load(BPF_W, R2, R1, 0)
                .load(BPF_B, R0, R2, 0)
                .exit()
                .assemble();
        NativeException e = assertThrows(NativeException.class, () -> BpfSyscall.loadXdpProgram("abyss_bad", unchecked));
        assertEquals(Errno.EACCES, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("invalid access to packet"), e.getMessage());
    }

    private static int xskMapOrSkip() {
        try {
            return BpfSyscall.createXskMap("abyss_test", 2);
        } catch (NativeException e) {
            Skip.unless(e.errno() != Errno.EPERM, "bpf(2) needs CAP_BPF (root): " + e.getMessage());
            throw new AssertionError(e);
        }
    }

    private static byte[] ipv6() {
        byte[] a = new byte[16];
        a[0] = (byte) 0xfd;
        a[15] = 1;
        return a;
    }

    private static void dumpWithBpftool(int fd) throws IOException, InterruptedException {
        String id = Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd)).stream()
                .filter(l -> l.startsWith("prog_id:")).map(l -> l.substring(8).trim()).findFirst().orElseThrow();
        Process which = new ProcessBuilder("sh", "-c", "command -v bpftool").start();
        if (which.waitFor() != 0) {
            System.out.println("bpftool is not installed (bin/test-deps.list: package bpftool): no xlated dump");
            return;
        }
        Process p = new ProcessBuilder(List.of("bpftool", "prog", "dump", "xlated", "id", id)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        System.out.println("bpftool prog dump xlated id " + id + ":\n" + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("redirect"), "the program calls bpf_redirect_map (inlined as xsk_map_redirect):\n" + out);
    }
}
