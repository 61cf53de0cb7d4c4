package dev.abyss.ffi.epoll;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * An epoll instance with a reusable event array: create, add / modify / delete, wait.
 *
 * <p>{@code struct epoll_event} is packed on x86_64 (12 bytes, data at offset 4) and naturally
 * aligned elsewhere (16 bytes, data at 8); {@link #EPOLL_EVENT} follows the running architecture.
 * Not thread-safe for {@link #await}: one owner thread; {@code add/modify/delete} may be called from
 * any thread (the kernel serializes them).
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLPRI = 0x002;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLRDHUP = 0x2000;
    public static final int EPOLLEXCLUSIVE = 1 << 28;
    public static final int EPOLLONESHOT = 1 << 30;
    public static final int EPOLLET = 1 << 31;

    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;
    public static final int EPOLL_CLOEXEC = 0x80000;

    private static final boolean PACKED = isX86_64();

    public static final StructLayout EPOLL_EVENT = PACKED
            ? MemoryLayout.structLayout(JAVA_INT.withName("events"), JAVA_LONG_UNALIGNED.withName("data"))
                    .withName("epoll_event")
            : MemoryLayout.structLayout(JAVA_INT.withName("events"), MemoryLayout.paddingLayout(4),
                    JAVA_LONG.withName("data")).withName("epoll_event");

    private static final long EVENT_SIZE = EPOLL_EVENT.byteSize();
    private static final long EVENTS = EPOLL_EVENT.byteOffset(groupElement("events"));
    private static final long DATA = EPOLL_EVENT.byteOffset(groupElement("data"));

    private final int fd;
    private final int maxEvents;
    private final Arena arena;
    private final MemorySegment events;
    private final MemorySegment ctlEvent;
    private boolean closed;

    private Epoll(int fd, int maxEvents, Arena arena) {
        this.fd = fd;
        this.maxEvents = maxEvents;
        this.arena = arena;
        this.events = arena.allocate(EVENT_SIZE * maxEvents, 8);
        this.ctlEvent = arena.allocate(EVENT_SIZE, 8);
    }

    /** Creates an epoll instance (close-on-exec) that reports up to {@code maxEvents} per wait. */
    public static Epoll create(int maxEvents) throws NativeException {
        if (maxEvents < 1) {
            throw new IllegalArgumentException("maxEvents must be at least 1, was " + maxEvents);
        }
        int fd = LibC.check(LibC.epollCreate1(EPOLL_CLOEXEC), "epoll_create1");
        return new Epoll(fd, maxEvents, Arena.ofShared());
    }

    public void add(int targetFd, int eventMask, long data) throws NativeException {
        control(EPOLL_CTL_ADD, targetFd, eventMask, data, "epoll_ctl(ADD)");
    }

    public void modify(int targetFd, int eventMask, long data) throws NativeException {
        control(EPOLL_CTL_MOD, targetFd, eventMask, data, "epoll_ctl(MOD)");
    }

    public void delete(int targetFd) throws NativeException {
        control(EPOLL_CTL_DEL, targetFd, 0, 0, "epoll_ctl(DEL)");
    }

    private synchronized void control(int op, int targetFd, int eventMask, long data, String call)
            throws NativeException {
        ctlEvent.set(JAVA_INT, EVENTS, eventMask);
        ctlEvent.set(JAVA_LONG_UNALIGNED, DATA, data);
        int rc = LibC.epollCtl(fd, op, targetFd, ctlEvent);
        if (rc < 0) {
            throw new NativeException(call, -rc, "fd " + targetFd);
        }
    }

    /**
     * Waits up to {@code timeoutMillis} (-1 forever, 0 poll) and returns the number of ready events,
     * readable with {@link #events(int)} and {@link #data(int)}; 0 on timeout or EINTR; {@code -errno}
     * on any other failure.
     */
    public int await(int timeoutMillis) {
        int n = LibC.epollWait(fd, events, maxEvents, timeoutMillis);
        return n == -dev.abyss.ffi.Errno.EINTR ? 0 : n;
    }

    /** The event mask of ready event {@code i}. */
    public int events(int i) {
        return events.get(JAVA_INT, EVENT_SIZE * i + EVENTS);
    }

    /** The data word registered with the descriptor of ready event {@code i}. */
    public long data(int i) {
        return events.get(JAVA_LONG_UNALIGNED, EVENT_SIZE * i + DATA);
    }

    public int fd() {
        return fd;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            LibC.close(fd);
            arena.close();
        }
    }

    private static boolean isX86_64() {
        String arch = System.getProperty("os.arch");
        return arch.equals("amd64") || arch.equals("x86_64");
    }
}
