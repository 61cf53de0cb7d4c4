package dev.abyss.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Every native call the project makes, in one place.
 *
 * <p><b>Error convention.</b> Each method returns what the C function returns on success and
 * {@code -errno} on failure (the kernel's own convention), so a hot path can branch on a negative
 * value without an exception or an allocation. errno is captured by the linker
 * ({@link Linker.Option#captureCallState}) in a per-thread buffer at the moment of the call, never
 * read afterwards. {@link #check(long, String)} is the one place that turns a negative result into a
 * {@link NativeException}; cold paths (open, bind, setsockopt) call it, hot paths compare with
 * {@link Errno} constants.
 *
 * <p><b>Linking.</b> No handle is linked {@code critical}: the calls that can block (epoll_wait,
 * recvmmsg without MSG_DONTWAIT, io_uring_enter with GETEVENTS) must not be, and the others are
 * issued once per batch, where the saved thread transition does not show.
 *
 * <p>Pointers are {@link MemorySegment}s; sizes that C declares as {@code size_t}/{@code ssize_t}
 * are {@code long}. io_uring has no libc wrapper: its three calls go through the variadic
 * {@code syscall(2)}, with every variadic argument widened to a 64-bit word.
 */
@SuppressWarnings("restricted") // linking and reinterpreting native memory is this class's purpose
public final class LibC {
    private LibC() {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** Call-state buffers live as long as their thread (auto arena), one per thread that calls in. */
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE_LAYOUT));

    // syscall numbers of io_uring: the same on x86_64 and aarch64 (the unified table).
    static final long SYS_IO_URING_SETUP = 425;
    static final long SYS_IO_URING_ENTER = 426;
    static final long SYS_IO_URING_REGISTER = 427;

    private static final MethodHandle SOCKET = errnoCall("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle BIND = errnoCall("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle CONNECT = errnoCall("connect", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle CLOSE = errnoCall("close", JAVA_INT, JAVA_INT);
    /** {@code int fcntl(int fd, int cmd, ...)}: the one int argument the F_GETFL/F_SETFL/F_GETFD/F_SETFD commands take is variadic. */
    private static final MethodHandle FCNTL = LINKER.downcallHandle(symbol("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETSOCKOPT =
            errnoCall("setsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle GETSOCKOPT =
            errnoCall("getsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GETSOCKNAME = errnoCall("getsockname", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GETPEERNAME = errnoCall("getpeername", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle RECVMMSG =
            errnoCall("recvmmsg", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
    // the vector is passed as a raw address so a send can start mid-batch without slicing (no allocation)
    private static final MethodHandle SENDMMSG = errnoCall("sendmmsg", JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT);
    private static final MethodHandle RECVMSG = errnoCall("recvmsg", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle SENDMSG = errnoCall("sendmsg", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle EVENTFD = errnoCall("eventfd", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle READ = errnoCall("read", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle WRITE = errnoCall("write", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle EPOLL_CREATE1 = errnoCall("epoll_create1", JAVA_INT, JAVA_INT);
    private static final MethodHandle EPOLL_CTL = errnoCall("epoll_ctl", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle EPOLL_WAIT = errnoCall("epoll_wait", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    private static final MethodHandle MMAP =
            errnoCall("mmap", ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG);
    private static final MethodHandle MUNMAP = errnoCall("munmap", JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle SCHED_SETAFFINITY =
            errnoCall("sched_setaffinity", JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
    private static final MethodHandle SCHED_GETAFFINITY =
            errnoCall("sched_getaffinity", JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
    private static final MethodHandle SCHED_GETCPU = errnoCall("sched_getcpu", JAVA_INT);
    /** {@code int open(const char *path, int flags, ...)}: the mode is variadic (unused without O_CREAT). */
    private static final MethodHandle OPEN = LINKER.downcallHandle(symbol("open"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETNS = errnoCall("setns", JAVA_INT, JAVA_INT, JAVA_INT);
    /** {@code int ioctl(int fd, unsigned long request, ...)}: the argument pointer is variadic. */
    private static final MethodHandle IOCTL = LINKER.downcallHandle(symbol("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SYSCALL_2 = variadicSyscall(JAVA_LONG, ADDRESS);
    private static final MethodHandle SYSCALL_4 = variadicSyscall(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG);
    private static final MethodHandle SYSCALL_6 =
            variadicSyscall(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG);
    // ---- AF_XDP and bpf(2) (issue 20) ----
    static final long SYS_BPF = 321; // x86_64; aarch64 has 280 (see sysBpf)
    private static final MethodHandle SYSCALL_3 = variadicSyscall(JAVA_LONG, ADDRESS, JAVA_LONG);
    private static final MethodHandle IF_NAMETOINDEX = errnoCall("if_nametoindex", JAVA_INT, ADDRESS);
    private static final MethodHandle POLL = errnoCall("poll", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    /** poll(2) without errno: capturing it slices the call-state buffer on every call, an allocation the idle wait made. */
    private static final MethodHandle POLL_WAIT = LINKER.downcallHandle(
            symbol("poll"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    /** getsockopt(2) without errno, for a periodic read whose failure is only skipped (see pollWait). */
    private static final MethodHandle GETSOCKOPT_QUIET = LINKER.downcallHandle(symbol("getsockopt"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    /** The AF_XDP transmit kick without errno (see pollWait): sendto(fd, NULL, 0, flags, NULL, 0). */
    private static final MethodHandle KICK = LINKER.downcallHandle(symbol("sendto"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDTO =
            errnoCall("sendto", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            symbol("strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private static MemorySegment symbol(String name) {
        return LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("C library has no symbol '" + name + "'"));
    }

    private static MethodHandle errnoCall(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(symbol(name),
                FunctionDescriptor.of(result, args), CAPTURE_ERRNO);
    }

    /** {@code long syscall(long nr, ...)} with the first argument fixed and the rest variadic. */
    private static MethodHandle variadicSyscall(MemoryLayout... variadicArgs) {
        MemoryLayout[] args = new MemoryLayout[variadicArgs.length + 1];
        args[0] = JAVA_LONG; // the syscall number, the one fixed argument
        System.arraycopy(variadicArgs, 0, args, 1, variadicArgs.length);
        return LINKER.downcallHandle(symbol("syscall"),
                FunctionDescriptor.of(JAVA_LONG, args), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));
    }

    // ---- the error convention ------------------------------------------------------------------

    /**
     * Returns {@code result} when it is not negative; otherwise throws a {@link NativeException} for
     * errno {@code -result}, naming {@code call}.
     *
     * @param result what a method of this class returned
     * @param call   the call's name for the exception message, e.g. {@code "bind(127.0.0.1:53)"}
     * @return {@code result}, when it is not negative
     * @throws NativeException when {@code result} is negative
     */
    public static long check(long result, String call) throws NativeException {
        if (result < 0) {
            throw new NativeException(call, (int) -result);
        }
        return result;
    }

    /**
     * {@link #check(long, String)} for calls that return an {@code int}.
     *
     * @param result what a method of this class returned
     * @param call   the call's name for the exception message
     * @return {@code result}, when it is not negative
     * @throws NativeException when {@code result} is negative
     */
    public static int check(int result, String call) throws NativeException {
        if (result < 0) {
            throw new NativeException(call, -result);
        }
        return result;
    }

    private static int orErrno(int result, MemorySegment state) {
        return result == -1 ? -(int) ERRNO.get(state, 0L) : result;
    }

    private static long orErrno(long result, MemorySegment state) {
        return result == -1 ? -(int) ERRNO.get(state, 0L) : result;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("downcall failed", t);
    }

    // ---- sockets -------------------------------------------------------------------------------

    /**
     * {@code socket(2)}.
     *
     * @param domain   address family, e.g. {@code AF_INET6}
     * @param type     socket type and flags, e.g. {@code SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC}
     * @param protocol protocol, 0 for the default
     * @return the new file descriptor, or {@code -errno}
     */
    public static int socket(int domain, int type, int protocol) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) SOCKET.invokeExact(st, domain, type, protocol), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code bind(2)}.
     *
     * @param fd      the socket
     * @param addr    a {@code sockaddr} (see {@link dev.abyss.ffi.net.SockAddr})
     * @param addrLen its length in bytes
     * @return the C function's result, or {@code -errno}
     */
    public static int bind(int fd, MemorySegment addr, int addrLen) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) BIND.invokeExact(st, fd, addr, addrLen), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code connect(2)}.
     *
     * @param fd      the socket
     * @param addr    a {@code sockaddr}
     * @param addrLen its length in bytes
     * @return the C function's result, or {@code -errno}
     */
    public static int connect(int fd, MemorySegment addr, int addrLen) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) CONNECT.invokeExact(st, fd, addr, addrLen), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code close(2)}.
     *
     * @param fd the file descriptor
     * @return the C function's result, or {@code -errno}
     */
    public static int close(int fd) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) CLOSE.invokeExact(st, fd), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code fcntl(2)} with an {@code int} argument (F_GETFL, F_SETFL, F_GETFD, F_SETFD; the GET
     * commands ignore it).
     *
     * @param fd  the file descriptor
     * @param cmd e.g. {@code F_SETFL}
     * @param arg the command's argument
     * @return the C function's result, or {@code -errno}
     */
    public static int fcntl(int fd, int cmd, int arg) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) FCNTL.invokeExact(st, fd, cmd, arg), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code setsockopt(2)}.
     *
     * @param fd       the socket
     * @param level    e.g. {@code SOL_SOCKET}
     * @param name     the option, e.g. {@code SO_RCVBUF}
     * @param value    the option's value
     * @param valueLen its length in bytes
     * @return the C function's result, or {@code -errno}
     */
    public static int setsockopt(int fd, int level, int name, MemorySegment value, int valueLen) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) SETSOCKOPT.invokeExact(st, fd, level, name, value, valueLen), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code getsockopt(2)}.
     *
     * @param fd       the socket
     * @param level    e.g. {@code SOL_SOCKET}
     * @param name     the option
     * @param value    receives the option's value
     * @param valueLen points to a {@code socklen_t} holding the buffer size, updated by the call
     * @return the C function's result, or {@code -errno}
     */
    public static int getsockopt(int fd, int level, int name, MemorySegment value, MemorySegment valueLen) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) GETSOCKOPT.invokeExact(st, fd, level, name, value, valueLen), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code getsockname(2)}: the socket's own address.
     *
     * @param fd      the socket
     * @param addr    receives a {@code sockaddr}
     * @param addrLen points to a {@code socklen_t} holding the buffer size, updated by the call
     * @return the C function's result, or {@code -errno}
     */
    public static int getsockname(int fd, MemorySegment addr, MemorySegment addrLen) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) GETSOCKNAME.invokeExact(st, fd, addr, addrLen), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code getpeername(2)}: the address a connected socket is connected to.
     *
     * @param fd      the socket
     * @param addr    receives a {@code sockaddr}
     * @param addrLen points to a {@code socklen_t} holding the buffer size, updated by the call
     * @return the C function's result, or {@code -errno}
     */
    public static int getpeername(int fd, MemorySegment addr, MemorySegment addrLen) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) GETPEERNAME.invokeExact(st, fd, addr, addrLen), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code recvmmsg(2)}: receives up to {@code vlen} datagrams in one call.
     *
     * @param fd      the socket
     * @param msgvec  an array of {@code mmsghdr} (see {@link dev.abyss.ffi.net.MessageBatch})
     * @param vlen    entries of {@code msgvec} to fill
     * @param flags   e.g. {@code MSG_DONTWAIT}
     * @param timeout a {@code timespec}, or {@link MemorySegment#NULL}
     * @return the number of messages received, or {@code -errno}
     */
    public static int recvmmsg(int fd, MemorySegment msgvec, int vlen, int flags, MemorySegment timeout) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) RECVMMSG.invokeExact(st, fd, msgvec, vlen, flags, timeout), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code sendmmsg(2)} of the {@code vlen} mmsghdr entries at {@code offset} in {@code msgvec} (a
     * native segment the caller keeps alive).
     *
     * @param fd     the socket
     * @param msgvec an array of {@code mmsghdr}, in native memory
     * @param offset byte offset of the first entry to send
     * @param vlen   entries to send
     * @param flags  e.g. {@code MSG_DONTWAIT}
     * @return the number of messages sent, which may be fewer than {@code vlen}, or {@code -errno}
     */
    public static int sendmmsg(int fd, MemorySegment msgvec, long offset, int vlen, int flags) {
        Objects.checkFromIndexSize(offset, vlen * dev.abyss.ffi.net.MsgLayouts.MMSGHDR.byteSize(), msgvec.byteSize());
        if (!msgvec.isNative()) {
            throw new IllegalArgumentException("sendmmsg needs a native msgvec segment");
        }
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) SENDMMSG.invokeExact(st, fd, msgvec.address() + offset, vlen, flags), st);
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            java.lang.ref.Reference.reachabilityFence(msgvec);
        }
    }

    /**
     * {@code recvmsg(2)}.
     *
     * @param fd     the socket
     * @param msghdr a {@code msghdr} (see {@link dev.abyss.ffi.net.MsgLayouts})
     * @param flags  e.g. {@code MSG_ERRQUEUE | MSG_DONTWAIT}
     * @return the number of bytes received, or {@code -errno}
     */
    public static long recvmsg(int fd, MemorySegment msghdr, int flags) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((long) RECVMSG.invokeExact(st, fd, msghdr, flags), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code sendmsg(2)}.
     *
     * @param fd     the socket
     * @param msghdr a {@code msghdr}
     * @param flags  e.g. {@code MSG_DONTWAIT}
     * @return the number of bytes sent, or {@code -errno}
     */
    public static long sendmsg(int fd, MemorySegment msghdr, int flags) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((long) SENDMSG.invokeExact(st, fd, msghdr, flags), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- eventfd, read, write ------------------------------------------------------------------

    /**
     * {@code eventfd(2)}.
     *
     * @param initialValue the counter's initial value
     * @param flags        e.g. {@code EFD_NONBLOCK | EFD_CLOEXEC}
     * @return the new file descriptor, or {@code -errno}
     */
    public static int eventfd(int initialValue, int flags) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) EVENTFD.invokeExact(st, initialValue, flags), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code read(2)}.
     *
     * @param fd    the file descriptor
     * @param buf   receives the bytes
     * @param count at most this many bytes
     * @return the number of bytes read, or {@code -errno}
     */
    public static long read(int fd, MemorySegment buf, long count) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((long) READ.invokeExact(st, fd, buf, count), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code write(2)}.
     *
     * @param fd    the file descriptor
     * @param buf   the bytes
     * @param count this many bytes
     * @return the number of bytes written, or {@code -errno}
     */
    public static long write(int fd, MemorySegment buf, long count) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((long) WRITE.invokeExact(st, fd, buf, count), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- epoll ---------------------------------------------------------------------------------

    /**
     * {@code epoll_create1(2)}.
     *
     * @param flags e.g. {@code EPOLL_CLOEXEC}
     * @return the new epoll file descriptor, or {@code -errno}
     */
    public static int epollCreate1(int flags) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) EPOLL_CREATE1.invokeExact(st, flags), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code epoll_ctl(2)}.
     *
     * @param epfd  the epoll instance
     * @param op    {@code EPOLL_CTL_ADD}, {@code EPOLL_CTL_MOD} or {@code EPOLL_CTL_DEL}
     * @param fd    the watched file descriptor
     * @param event an {@code epoll_event}, or {@link MemorySegment#NULL} for DEL
     * @return the C function's result, or {@code -errno}
     */
    public static int epollCtl(int epfd, int op, int fd, MemorySegment event) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) EPOLL_CTL.invokeExact(st, epfd, op, fd, event), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code epoll_wait(2)}: blocks up to {@code timeoutMillis} (-1: forever, 0: poll).
     *
     * @param epfd          the epoll instance
     * @param events        receives up to {@code maxEvents} {@code epoll_event}s
     * @param maxEvents     capacity of {@code events}
     * @param timeoutMillis -1 to wait forever, 0 to poll
     * @return the number of ready events, or {@code -errno}
     */
    public static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMillis) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) EPOLL_WAIT.invokeExact(st, epfd, events, maxEvents, timeoutMillis), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- memory mapping ------------------------------------------------------------------------

    /**
     * {@code mmap(2)}.
     *
     * @param addr   hint address, usually 0
     * @param length bytes to map
     * @param prot   e.g. {@code PROT_READ | PROT_WRITE}
     * @param flags  e.g. {@code MAP_SHARED | MAP_POPULATE}
     * @param fd     the file descriptor to map, or -1
     * @param offset offset in the file
     * @return the mapped address, or {@code -errno}
     */
    public static long mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        MemorySegment st = CALL_STATE.get();
        try {
            MemorySegment p = (MemorySegment) MMAP.invokeExact(st, MemorySegment.ofAddress(addr), length, prot, flags,
                    fd, offset);
            return orErrno(p.address(), st); // MAP_FAILED is (void *) -1
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code munmap(2)}.
     *
     * @param addr   what {@link #mmap} returned
     * @param length the length given to {@link #mmap}
     * @return the C function's result, or {@code -errno}
     */
    public static int munmap(long addr, long length) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) MUNMAP.invokeExact(st, MemorySegment.ofAddress(addr), length), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- CPU affinity --------------------------------------------------------------------------

    /**
     * {@code sched_setaffinity(2)}: the CPUs thread {@code tid} may run on.
     *
     * @param tid     a thread id; 0 for the calling thread
     * @param setSize the size of {@code mask} in bytes ({@code sizeof(cpu_set_t)}, see {@link CpuSet})
     * @param mask    a {@code cpu_set_t}
     * @return 0, or {@code -errno} (EINVAL: no CPU of the mask is allowed; EPERM)
     */
    public static int schedSetaffinity(int tid, long setSize, MemorySegment mask) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) SCHED_SETAFFINITY.invokeExact(st, tid, setSize, mask), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code sched_getaffinity(2)}: the CPUs thread {@code tid} may run on.
     *
     * @param tid     a thread id (the process id names its first thread); 0 for the calling thread
     * @param setSize the size of {@code mask} in bytes
     * @param mask    receives a {@code cpu_set_t}
     * @return 0 (the glibc wrapper's result), or {@code -errno}
     */
    public static int schedGetaffinity(int tid, long setSize, MemorySegment mask) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) SCHED_GETAFFINITY.invokeExact(st, tid, setSize, mask), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code sched_getcpu(3)}: the CPU the calling thread runs on (at the moment of the call).
     *
     * @return the CPU index, or {@code -errno}
     */
    public static int schedGetcpu() {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) SCHED_GETCPU.invokeExact(st), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- io_uring (raw syscalls) ---------------------------------------------------------------

    /**
     * {@code io_uring_setup(entries, params)}.
     *
     * @param entries submission queue entries wanted
     * @param params  an {@code io_uring_params}, filled in by the kernel
     * @return the ring's file descriptor, or {@code -errno}
     */
    public static int ioUringSetup(int entries, MemorySegment params) {
        MemorySegment st = CALL_STATE.get();
        try {
            return (int) orErrno((long) SYSCALL_2.invokeExact(st, SYS_IO_URING_SETUP, (long) entries, params), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code io_uring_enter(fd, toSubmit, minComplete, flags, arg, argSize)}. Blocks when
     * {@code flags} has GETEVENTS and {@code minComplete > 0}.
     *
     * @param fd          the ring
     * @param toSubmit    SQEs to submit
     * @param minComplete completions to wait for (with GETEVENTS)
     * @param flags       {@code IORING_ENTER_*} flags
     * @param arg         a sigset or, with EXT_ARG, an {@code io_uring_getevents_arg}; or {@link MemorySegment#NULL}
     * @param argSize     the size of {@code arg}
     * @return the number of SQEs consumed, or {@code -errno}
     */
    public static int ioUringEnter(int fd, int toSubmit, int minComplete, int flags, MemorySegment arg, long argSize) {
        MemorySegment st = CALL_STATE.get();
        try {
            return (int) orErrno((long) SYSCALL_6.invokeExact(st, SYS_IO_URING_ENTER, (long) fd,
                    Integer.toUnsignedLong(toSubmit), Integer.toUnsignedLong(minComplete),
                    Integer.toUnsignedLong(flags), arg, argSize), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code io_uring_register(fd, opcode, arg, nrArgs)}.
     *
     * @param fd     the ring
     * @param opcode an {@code IORING_REGISTER_*} opcode
     * @param arg    the opcode's argument
     * @param nrArgs the number of entries in {@code arg}
     * @return the opcode's result, or {@code -errno}
     */
    public static int ioUringRegister(int fd, int opcode, MemorySegment arg, int nrArgs) {
        MemorySegment st = CALL_STATE.get();
        try {
            return (int) orErrno((long) SYSCALL_4.invokeExact(st, SYS_IO_URING_REGISTER, (long) fd,
                    Integer.toUnsignedLong(opcode), arg, Integer.toUnsignedLong(nrArgs)), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- namespaces and interfaces ----------------------------------------------------------

    /**
     * {@code open(2)} without O_CREAT.
     *
     * @param path  a NUL-terminated path
     * @param flags e.g. {@code O_RDONLY | O_CLOEXEC}
     * @return the new file descriptor, or {@code -errno}
     */
    public static int open(MemorySegment path, int flags) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) OPEN.invokeExact(st, path, flags, 0), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code setns(2)}: moves the calling thread (only it) into the namespace {@code fd} refers to.
     *
     * @param fd     a namespace file ({@code /run/netns/NAME}, {@code /proc/PID/ns/net})
     * @param nstype e.g. {@code CLONE_NEWNET}, or 0 for any
     * @return 0, or {@code -errno}
     */
    public static int setns(int fd, int nstype) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) SETNS.invokeExact(st, fd, nstype), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code ioctl(2)} with a pointer argument.
     *
     * @param fd      the descriptor
     * @param request e.g. {@code SIOCGIFINDEX}
     * @param arg     the request's argument, e.g. a {@code struct ifreq}
     * @return the request's result, or {@code -errno}
     */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) IOCTL.invokeExact(st, fd, request, arg), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- bpf(2), interfaces, poll, sendto (AF_XDP, issue 20) ----------------------------------

    /** The bpf(2) syscall number of this machine's architecture. */
    static long sysBpf() {
        return "aarch64".equals(System.getProperty("os.arch")) ? 280 : SYS_BPF;
    }

    /**
     * {@code bpf(cmd, attr, size)}: one command of the BPF system call.
     *
     * @param cmd  a {@code BPF_*} command (e.g. {@code BPF_MAP_CREATE})
     * @param attr the command's part of {@code union bpf_attr}, zero beyond what it sets
     * @param size the bytes of {@code attr} the kernel reads
     * @return the command's result (often a new file descriptor), or {@code -errno}
     */
    public static int bpf(int cmd, MemorySegment attr, long size) {
        MemorySegment st = CALL_STATE.get();
        try {
            return (int) orErrno((long) SYSCALL_3.invokeExact(st, sysBpf(), (long) cmd, attr, size), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code if_nametoindex(3)}.
     *
     * @param name a NUL-terminated interface name
     * @return the interface index, or {@code -errno} (ENODEV: no such interface)
     */
    public static int ifNameToIndex(MemorySegment name) {
        MemorySegment st = CALL_STATE.get();
        try {
            int index = (int) IF_NAMETOINDEX.invokeExact(st, name);
            return index == 0 ? -(int) ERRNO.get(st, 0L) : index;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code poll(2)}.
     *
     * @param fds           an array of {@code struct pollfd}
     * @param nfds          its entries
     * @param timeoutMillis -1 to wait forever, 0 not to wait
     * @return the number of ready entries, or {@code -errno}
     */
    public static int poll(MemorySegment fds, long nfds, int timeoutMillis) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((int) POLL.invokeExact(st, fds, nfds, timeoutMillis), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code poll(2)} for a wait whose failure needs no errno (EINTR, ENOMEM: the caller looks at its
     * descriptors again either way): no errno captured, so nothing is allocated per call.
     *
     * @param fds           an array of {@code struct pollfd}
     * @param nfds          its entries
     * @param timeoutMillis -1 to wait forever, 0 not to wait
     * @return the number of ready entries, 0 on timeout, -1 on failure
     */
    public static int pollWait(MemorySegment fds, long nfds, int timeoutMillis) {
        try {
            return (int) POLL_WAIT.invokeExact(fds, nfds, timeoutMillis);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code getsockopt(2)} for a periodic read on a hot thread whose failure the caller only skips
     * (a counter read again later): no errno captured, so nothing is allocated per call, as
     * {@link #pollWait}.
     *
     * @param fd       the socket
     * @param level    e.g. {@code SOL_XDP}
     * @param name     the option
     * @param value    receives the option's value
     * @param valueLen points to a {@code socklen_t} holding the buffer size, updated by the call
     * @return 0, or -1 on failure
     */
    public static int getsockoptQuiet(int fd, int level, int name, MemorySegment value, MemorySegment valueLen) {
        try {
            return (int) GETSOCKOPT_QUIET.invokeExact(fd, level, name, value, valueLen);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code sendto(2)}; with no buffer and no address it is the AF_XDP transmit kick.
     *
     * @param fd      the socket
     * @param buf     the bytes, or {@link MemorySegment#NULL}
     * @param len     their length
     * @param flags   e.g. {@code MSG_DONTWAIT}
     * @param addr    the destination, or {@link MemorySegment#NULL}
     * @param addrLen its length
     * @return the bytes sent, or {@code -errno}
     */
    public static long sendto(int fd, MemorySegment buf, long len, int flags, MemorySegment addr, int addrLen) {
        MemorySegment st = CALL_STATE.get();
        try {
            return orErrno((long) SENDTO.invokeExact(st, fd, buf, len, flags, addr, addrLen), st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The AF_XDP transmit kick, {@code sendto(fd, NULL, 0, flags, NULL, 0)}, for the acceptor's every
     * flush: no errno captured, so nothing is allocated per call (as {@link #pollWait}); a caller that
     * needs the cause of a failure asks again with {@link #sendto}.
     *
     * @param fd    the AF_XDP socket
     * @param flags e.g. {@code MSG_DONTWAIT}
     * @return 0, or -1 on failure
     */
    public static long kick(int fd, int flags) {
        try {
            return (long) KICK.invokeExact(fd, MemorySegment.NULL, 0L, flags, MemorySegment.NULL, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- text ----------------------------------------------------------------------------------

    /**
     * The C library's description of {@code errno} ({@code strerror(3)}).
     *
     * @param errno a positive errno value
     * @return the text
     */
    public static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
