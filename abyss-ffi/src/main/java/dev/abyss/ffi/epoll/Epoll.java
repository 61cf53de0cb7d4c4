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
    /** {@code EPOLLIN}: readable. */
    public static final int EPOLLIN = 0x001;
    /** {@code EPOLLPRI}: urgent data or an exceptional condition. */
    public static final int EPOLLPRI = 0x002;
    /** {@code EPOLLOUT}: writable. */
    public static final int EPOLLOUT = 0x004;
    /** {@code EPOLLERR}: an error is pending (always reported, unasked). */
    public static final int EPOLLERR = 0x008;
    /** {@code EPOLLHUP}: hang-up (always reported, unasked). */
    public static final int EPOLLHUP = 0x010;
    /** {@code EPOLLRDHUP}: the peer closed its writing end. */
    public static final int EPOLLRDHUP = 0x2000;
    /** {@code EPOLLEXCLUSIVE}: wake only one of the epoll instances watching the descriptor. */
    public static final int EPOLLEXCLUSIVE = 1 << 28;
    /** {@code EPOLLONESHOT}: disarm after one event. */
    public static final int EPOLLONESHOT = 1 << 30;
    /** {@code EPOLLET}: edge-triggered. */
    public static final int EPOLLET = 1 << 31;

    /** {@code EPOLL_CTL_ADD}: register a descriptor. */
    public static final int EPOLL_CTL_ADD = 1;
    /** {@code EPOLL_CTL_DEL}: deregister a descriptor. */
    public static final int EPOLL_CTL_DEL = 2;
    /** {@code EPOLL_CTL_MOD}: change a registration. */
    public static final int EPOLL_CTL_MOD = 3;
    /** {@code EPOLL_CLOEXEC}: close the epoll descriptor on exec. */
    public static final int EPOLL_CLOEXEC = 0x80000;

    private static final boolean PACKED = isX86_64();

    /** {@code struct epoll_event} of the running architecture (packed on x86_64). */
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

    /**
     * Creates an epoll instance (close-on-exec) that reports up to {@code maxEvents} per wait.
     *
     * @param maxEvents events one {@link #await} can report, at least 1
     * @return the instance; {@link #close()} releases it
     * @throws NativeException when {@code epoll_create1} fails
     */
    public static Epoll create(int maxEvents) throws NativeException {
        if (maxEvents < 1) {
            throw new IllegalArgumentException("maxEvents must be at least 1, was " + maxEvents);
        }
        int fd = LibC.check(LibC.epollCreate1(EPOLL_CLOEXEC), "epoll_create1");
        return new Epoll(fd, maxEvents, Arena.ofShared());
    }

    /**
     * Registers {@code targetFd} ({@code EPOLL_CTL_ADD}).
     *
     * @param targetFd  the descriptor to watch
     * @param eventMask {@code EPOLLIN}, {@code EPOLLOUT}, ... combined
     * @param data      the word {@link #data(int)} returns for its events
     * @throws NativeException when {@code epoll_ctl} fails
     */
    public void add(int targetFd, int eventMask, long data) throws NativeException {
        control(EPOLL_CTL_ADD, targetFd, eventMask, data, "epoll_ctl(ADD)");
    }

    /**
     * Changes the registration of {@code targetFd} ({@code EPOLL_CTL_MOD}).
     *
     * @param targetFd  a registered descriptor
     * @param eventMask the new event mask
     * @param data      the new data word
     * @throws NativeException when {@code epoll_ctl} fails
     */
    public void modify(int targetFd, int eventMask, long data) throws NativeException {
        control(EPOLL_CTL_MOD, targetFd, eventMask, data, "epoll_ctl(MOD)");
    }

    /**
     * Deregisters {@code targetFd} ({@code EPOLL_CTL_DEL}).
     *
     * @param targetFd a registered descriptor
     * @throws NativeException when {@code epoll_ctl} fails
     */
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
     * Waits for events.
     *
     * @param timeoutMillis -1 to wait forever, 0 to poll
     * @return the number of ready events, readable with {@link #events(int)} and {@link #data(int)}; 0 on
     *         timeout or EINTR; {@code -errno} on any other failure
     */
    public int await(int timeoutMillis) {
        int n = LibC.epollWait(fd, events, maxEvents, timeoutMillis);
        return n == -dev.abyss.ffi.Errno.EINTR ? 0 : n;
    }

    /**
     * The event mask of ready event {@code i}.
     *
     * @param i 0 to the last {@link #await} result, exclusive
     * @return its event mask
     */
    public int events(int i) {
        return events.get(JAVA_INT, EVENT_SIZE * i + EVENTS);
    }

    /**
     * The data word registered with the descriptor of ready event {@code i}.
     *
     * @param i 0 to the last {@link #await} result, exclusive
     * @return its data word
     */
    public long data(int i) {
        return events.get(JAVA_LONG_UNALIGNED, EVENT_SIZE * i + DATA);
    }

    /** {@return the epoll file descriptor} */
    public int fd() {
        return fd;
    }

    /** Closes the epoll descriptor and frees the event array. Idempotent. */
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
