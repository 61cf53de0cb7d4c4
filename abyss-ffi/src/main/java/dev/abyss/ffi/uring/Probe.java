package dev.abyss.ffi.uring;

import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** Which io_uring opcodes this kernel supports (IORING_REGISTER_PROBE). */
public final class Probe {
    private static final int MAX_OPS = 256;

    private final int lastOp;
    private final boolean[] supported;

    private Probe(int lastOp, boolean[] supported) {
        this.lastOp = lastOp;
        this.supported = supported;
    }

    /**
     * Asks the kernel which opcodes {@code ring} supports.
     *
     * @param ring the io_uring instance
     * @return the answer
     * @throws NativeException when {@code IORING_REGISTER_PROBE} fails (kernels before 5.6)
     */
    public static Probe of(IoUring ring) throws NativeException {
        long head = IoUringLayouts.PROBE.byteSize();
        long opSize = IoUringLayouts.PROBE_OP.byteSize();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment probe = tmp.allocate(head + opSize * MAX_OPS, 8);
            int rc = ring.register(IoUringConstants.IORING_REGISTER_PROBE, probe, MAX_OPS);
            if (rc < 0) {
                throw new NativeException("io_uring_register(PROBE)", -rc);
            }
            int last = Byte.toUnsignedInt(probe.get(JAVA_BYTE, 0));
            int opsLen = Byte.toUnsignedInt(probe.get(JAVA_BYTE, 1));
            boolean[] ok = new boolean[MAX_OPS];
            for (int i = 0; i < opsLen; i++) {
                long op = head + opSize * i;
                int code = Byte.toUnsignedInt(probe.get(JAVA_BYTE, op));
                int flags = probe.get(JAVA_SHORT, op + 2);
                ok[code] = (flags & IoUringConstants.IO_URING_OP_SUPPORTED) != 0;
            }
            return new Probe(last, ok);
        }
    }

    /** {@return the highest opcode the kernel knows} */
    public int lastOp() {
        return lastOp;
    }

    /**
     * Whether the kernel supports {@code opcode}.
     *
     * @param opcode an {@code IORING_OP_*} opcode
     * @return true when supported
     */
    public boolean supports(int opcode) {
        return opcode >= 0 && opcode < MAX_OPS && supported[opcode];
    }
}
