package dev.abyss.ffi.uring;

/** Constants of {@code <linux/io_uring.h>} under their C names (checked by the ABI test). */
public final class IoUringConstants {
    private IoUringConstants() {
    }

    // setup flags
    /** {@code IORING_SETUP_IOPOLL}: busy-poll for I/O completions. */
    public static final int IORING_SETUP_IOPOLL = 1;
    /** {@code IORING_SETUP_SQPOLL}: a kernel thread polls the submission queue. */
    public static final int IORING_SETUP_SQPOLL = 1 << 1;
    /** {@code IORING_SETUP_CQSIZE}: {@code cq_entries} in the params sizes the completion queue. */
    public static final int IORING_SETUP_CQSIZE = 1 << 3;
    /** {@code IORING_SETUP_CLAMP}: clamp the ring sizes to the maximum instead of failing. */
    public static final int IORING_SETUP_CLAMP = 1 << 4;
    /** {@code IORING_SETUP_R_DISABLED}: create the ring disabled, enabled later by {@code IORING_REGISTER_ENABLE_RINGS}. */
    public static final int IORING_SETUP_R_DISABLED = 1 << 6;
    /** {@code IORING_SETUP_SUBMIT_ALL}: keep submitting after an SQE fails. */
    public static final int IORING_SETUP_SUBMIT_ALL = 1 << 7;
    /** {@code IORING_SETUP_COOP_TASKRUN}: no interrupting task work: it runs at the next transition to the kernel. */
    public static final int IORING_SETUP_COOP_TASKRUN = 1 << 8;
    /** {@code IORING_SETUP_TASKRUN_FLAG}: flag {@code IORING_SQ_TASKRUN} when task work is pending. */
    public static final int IORING_SETUP_TASKRUN_FLAG = 1 << 9;
    /** {@code IORING_SETUP_SQE128}: 128-byte SQEs. */
    public static final int IORING_SETUP_SQE128 = 1 << 10;
    /** {@code IORING_SETUP_CQE32}: 32-byte CQEs. */
    public static final int IORING_SETUP_CQE32 = 1 << 11;
    /** {@code IORING_SETUP_SINGLE_ISSUER}: only one thread submits. */
    public static final int IORING_SETUP_SINGLE_ISSUER = 1 << 12;
    /** {@code IORING_SETUP_DEFER_TASKRUN}: task work runs only when the issuer waits for completions. */
    public static final int IORING_SETUP_DEFER_TASKRUN = 1 << 13;

    // features reported by the kernel
    /** {@code IORING_FEAT_SINGLE_MMAP}: SQ and CQ rings share one mapping. */
    public static final int IORING_FEAT_SINGLE_MMAP = 1;
    /** {@code IORING_FEAT_NODROP}: the kernel keeps overflowing CQEs instead of dropping them. */
    public static final int IORING_FEAT_NODROP = 1 << 1;
    /** {@code IORING_FEAT_SUBMIT_STABLE}: SQE data is consumed at submission. */
    public static final int IORING_FEAT_SUBMIT_STABLE = 1 << 2;
    /** {@code IORING_FEAT_FAST_POLL}: internal polling for readiness-based requests. */
    public static final int IORING_FEAT_FAST_POLL = 1 << 5;
    /** {@code IORING_FEAT_EXT_ARG}: {@code io_uring_enter} takes an extended argument (wait timeout). */
    public static final int IORING_FEAT_EXT_ARG = 1 << 8;
    /** {@code IORING_FEAT_NATIVE_WORKERS}: io-wq workers are native threads of the task. */
    public static final int IORING_FEAT_NATIVE_WORKERS = 1 << 9;
    /** {@code IORING_FEAT_CQE_SKIP}: {@code IOSQE_CQE_SKIP_SUCCESS} is supported. */
    public static final int IORING_FEAT_CQE_SKIP = 1 << 11;

    // opcodes
    /** {@code IORING_OP_NOP}: opcode: do nothing. */
    public static final int IORING_OP_NOP = 0;
    /** {@code IORING_OP_POLL_ADD}: opcode: poll a descriptor. */
    public static final int IORING_OP_POLL_ADD = 6;
    /** {@code IORING_OP_SENDMSG}: opcode: {@code sendmsg}. */
    public static final int IORING_OP_SENDMSG = 9;
    /** {@code IORING_OP_RECVMSG}: opcode: {@code recvmsg}. */
    public static final int IORING_OP_RECVMSG = 10;
    /** {@code IORING_OP_TIMEOUT}: opcode: a timeout. */
    public static final int IORING_OP_TIMEOUT = 11;
    /** {@code IORING_OP_ASYNC_CANCEL}: opcode: cancel a request. */
    public static final int IORING_OP_ASYNC_CANCEL = 14;
    /** {@code IORING_OP_READ}: opcode: {@code read}. */
    public static final int IORING_OP_READ = 22;
    /** {@code IORING_OP_WRITE}: opcode: {@code write}. */
    public static final int IORING_OP_WRITE = 23;
    /** {@code IORING_OP_SEND}: opcode: {@code send}. */
    public static final int IORING_OP_SEND = 26;
    /** {@code IORING_OP_RECV}: opcode: {@code recv}. */
    public static final int IORING_OP_RECV = 27;
    /** {@code IORING_OP_PROVIDE_BUFFERS}: opcode: provide buffers (the legacy way). */
    public static final int IORING_OP_PROVIDE_BUFFERS = 31;
    /** {@code IORING_OP_SEND_ZC}: opcode: zero-copy {@code send}. */
    public static final int IORING_OP_SEND_ZC = 47;
    /** {@code IORING_OP_SENDMSG_ZC}: opcode: zero-copy {@code sendmsg}. */
    public static final int IORING_OP_SENDMSG_ZC = 48;

    // sqe flags
    /** {@code IOSQE_FIXED_FILE}: SQE flag: the descriptor is an index into the registered files. */
    public static final int IOSQE_FIXED_FILE = 1;
    /** {@code IOSQE_IO_DRAIN}: SQE flag: start after every earlier request completed. */
    public static final int IOSQE_IO_DRAIN = 1 << 1;
    /** {@code IOSQE_IO_LINK}: SQE flag: the next SQE starts after this one completes. */
    public static final int IOSQE_IO_LINK = 1 << 2;
    /** {@code IOSQE_ASYNC}: SQE flag: go to the worker pool at once. */
    public static final int IOSQE_ASYNC = 1 << 4;
    /** {@code IOSQE_BUFFER_SELECT}: SQE flag: pick a buffer from the provided buffer group. */
    public static final int IOSQE_BUFFER_SELECT = 1 << 5;
    /** {@code IOSQE_CQE_SKIP_SUCCESS}: SQE flag: no CQE when it succeeds. */
    public static final int IOSQE_CQE_SKIP_SUCCESS = 1 << 6;

    // send/recv ioprio flags
    /** {@code IORING_RECVSEND_POLL_FIRST}: send/recv {@code ioprio} flag: poll before trying. */
    public static final int IORING_RECVSEND_POLL_FIRST = 1;
    /** {@code IORING_RECV_MULTISHOT}: recv/recvmsg {@code ioprio} flag: keep receiving, one CQE per datagram. */
    public static final int IORING_RECV_MULTISHOT = 1 << 1;

    // poll flags
    /** {@code IORING_POLL_ADD_MULTI}: poll flag: multishot poll. */
    public static final int IORING_POLL_ADD_MULTI = 1;

    // cqe flags
    /** {@code IORING_CQE_F_BUFFER}: CQE flag: the upper 16 bits of {@code flags} name the buffer used. */
    public static final int IORING_CQE_F_BUFFER = 1;
    /** {@code IORING_CQE_F_MORE}: CQE flag: the multishot request goes on. */
    public static final int IORING_CQE_F_MORE = 1 << 1;
    /** {@code IORING_CQE_F_SOCK_NONEMPTY}: CQE flag: more data is waiting in the socket. */
    public static final int IORING_CQE_F_SOCK_NONEMPTY = 1 << 2;
    /** {@code IORING_CQE_F_NOTIF}: CQE flag: a zero-copy send's notification. */
    public static final int IORING_CQE_F_NOTIF = 1 << 3;
    /** {@code IORING_CQE_BUFFER_SHIFT}: shift of the buffer id in a CQE's {@code flags}. */
    public static final int IORING_CQE_BUFFER_SHIFT = 16;

    // sq ring flags
    /** {@code IORING_SQ_NEED_WAKEUP}: SQ ring flag: the SQPOLL thread needs a wake-up. */
    public static final int IORING_SQ_NEED_WAKEUP = 1;
    /** {@code IORING_SQ_CQ_OVERFLOW}: SQ ring flag: the CQ ring overflowed. */
    public static final int IORING_SQ_CQ_OVERFLOW = 1 << 1;
    /** {@code IORING_SQ_TASKRUN}: SQ ring flag: task work is pending. */
    public static final int IORING_SQ_TASKRUN = 1 << 2;

    // enter flags
    /** {@code IORING_ENTER_GETEVENTS}: enter flag: wait for {@code min_complete} completions. */
    public static final int IORING_ENTER_GETEVENTS = 1;
    /** {@code IORING_ENTER_SQ_WAKEUP}: enter flag: wake the SQPOLL thread. */
    public static final int IORING_ENTER_SQ_WAKEUP = 1 << 1;
    /** {@code IORING_ENTER_EXT_ARG}: enter flag: the argument is an {@code io_uring_getevents_arg}. */
    public static final int IORING_ENTER_EXT_ARG = 1 << 3;

    // mmap offsets
    /** {@code IORING_OFF_SQ_RING}: mmap offset of the SQ ring. */
    public static final long IORING_OFF_SQ_RING = 0L;
    /** {@code IORING_OFF_CQ_RING}: mmap offset of the CQ ring. */
    public static final long IORING_OFF_CQ_RING = 0x8000000L;
    /** {@code IORING_OFF_SQES}: mmap offset of the SQE array. */
    public static final long IORING_OFF_SQES = 0x10000000L;

    // register opcodes
    /** {@code IORING_REGISTER_EVENTFD}: register opcode: an eventfd signalled on completions. */
    public static final int IORING_REGISTER_EVENTFD = 4;
    /** {@code IORING_UNREGISTER_EVENTFD}: register opcode: remove the eventfd. */
    public static final int IORING_UNREGISTER_EVENTFD = 5;
    /** {@code IORING_REGISTER_PROBE}: register opcode: which opcodes the kernel supports. */
    public static final int IORING_REGISTER_PROBE = 8;
    /** {@code IORING_REGISTER_ENABLE_RINGS}: register opcode: enable a ring created disabled. */
    public static final int IORING_REGISTER_ENABLE_RINGS = 12;
    /** {@code IORING_REGISTER_PBUF_RING}: register opcode: a provided buffer ring. */
    public static final int IORING_REGISTER_PBUF_RING = 22;
    /** {@code IORING_UNREGISTER_PBUF_RING}: register opcode: remove a provided buffer ring. */
    public static final int IORING_UNREGISTER_PBUF_RING = 23;

    /** {@code IO_URING_OP_SUPPORTED}: probe flag: the opcode is supported. */
    public static final int IO_URING_OP_SUPPORTED = 1;
}
