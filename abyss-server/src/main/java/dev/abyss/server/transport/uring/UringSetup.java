package dev.abyss.server.transport.uring;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.uring.BufferRing;
import dev.abyss.ffi.uring.IoUring;
import dev.abyss.ffi.uring.IoUringConstants;
import dev.abyss.ffi.uring.Probe;

import static dev.abyss.ffi.uring.IoUringConstants.IORING_SETUP_COOP_TASKRUN;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_SETUP_DEFER_TASKRUN;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_SETUP_SINGLE_ISSUER;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_SETUP_SUBMIT_ALL;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_SETUP_TASKRUN_FLAG;

/**
 * Ring creation with the best flags this kernel takes, and the check that the transport can run
 * here at all: io_uring allowed (not ENOSYS, not EPERM from {@code kernel.io_uring_disabled} or a
 * seccomp filter), the opcodes present, provided buffer rings, multishot receive, wait timeouts.
 */
final class UringSetup {
    /** From best to plainest: task work deferred to our own enter calls, else cooperative. */
    private static final int[] FLAG_CHOICES = {
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
            IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
            IORING_SETUP_SUBMIT_ALL,
    };
    private static final int[] OPCODES = {
            IoUringConstants.IORING_OP_RECVMSG, IoUringConstants.IORING_OP_SENDMSG,
            IoUringConstants.IORING_OP_READ, IoUringConstants.IORING_OP_ASYNC_CANCEL,
    };
    private static final String[] OPCODE_NAMES = {"RECVMSG", "SENDMSG", "READ", "ASYNC_CANCEL"};

    private static volatile String problem;
    private static volatile boolean checked;

    private UringSetup() {
    }

    /**
     * A ring with at least {@code sqEntries} SQEs and {@code cqEntries} CQEs. {@code disabled}
     * (IORING_SETUP_R_DISABLED): SINGLE_ISSUER binds the ring to the thread that creates it, or,
     * when it is created disabled, to the thread that enables it; the server makes rings on the
     * thread that starts it and enables each on its acceptor thread.
     */
    static IoUring ring(int sqEntries, int cqEntries, boolean disabled) throws NativeException {
        NativeException last = null;
        for (int flags : FLAG_CHOICES) {
            try {
                return IoUring.setup(sqEntries, flags | (disabled ? IoUringConstants.IORING_SETUP_R_DISABLED : 0), cqEntries);
            } catch (NativeException e) {
                if (e.errno() != Errno.EINVAL) {
                    throw e;
                }
                last = e; // an older kernel: try plainer flags
            }
        }
        throw last;
    }

    static String unavailableReason() {
        if (!checked) {
            synchronized (UringSetup.class) {
                if (!checked) {
                    problem = check();
                    checked = true;
                }
            }
        }
        return problem;
    }

    private static String check() {
        try (IoUring ring = ring(8, 16, false)) {
            if (!ring.hasFeature(IoUringConstants.IORING_FEAT_EXT_ARG)) {
                return "this kernel lacks IORING_FEAT_EXT_ARG (wait with a timeout; Linux 5.11+)";
            }
            Probe probe = Probe.of(ring);
            for (int i = 0; i < OPCODES.length; i++) {
                if (!probe.supports(OPCODES[i])) {
                    return "this kernel lacks IORING_OP_" + OPCODE_NAMES[i];
                }
            }
            if (!probe.supports(IoUringConstants.IORING_OP_SEND_ZC)) {
                return "this kernel predates multishot RECVMSG (Linux 6.0+)"; // SEND_ZC came with it
            }
            try (BufferRing ignored = BufferRing.register(ring, 0, 2, 64)) {
                return null;
            }
        } catch (NativeException e) {
            return e.errnoName() + " from " + e.getMessage().split(" failed")[0]
                    + (e.errno() == Errno.EPERM ? " (io_uring disabled: kernel.io_uring_disabled or a seccomp filter)" : "");
        } catch (RuntimeException | LinkageError e) {
            return e.toString();
        }
    }
}
