package dev.abyss.server.transport;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An eventfd that other threads write to wake a transport's owner: at most one write per wake-up
 * the owner has not consumed yet, and never a write to a closed (possibly reused) descriptor.
 * Shared by the native transports.
 */
public final class Wakeup implements AutoCloseable {
    private final int fd;
    private final AtomicBoolean pending = new AtomicBoolean();
    /** Threads inside {@link #signal()}: close() waits for them before it frees the descriptor's number. */
    private final AtomicInteger signalling = new AtomicInteger();
    /** Other threads write from here: GC-managed so close() cannot free it under them. */
    private final MemorySegment one = Arena.ofAuto().allocate(JAVA_LONG);
    private final MemorySegment sink = Arena.ofAuto().allocate(JAVA_LONG);
    private volatile boolean closed;

    private Wakeup(int fd) {
        this.fd = fd;
        one.set(JAVA_LONG, 0, 1L);
    }

    public static Wakeup open() throws NativeException {
        return new Wakeup(LibC.check(LibC.eventfd(0, Net.EFD_NONBLOCK | Net.EFD_CLOEXEC), "eventfd"));
    }

    public int fd() {
        return fd;
    }

    /** Any thread: makes the descriptor readable unless a wake-up is already pending. */
    public void signal() {
        // StoreLoad: what the caller published (a queued send) must be visible before we read the
        // flag, or the owner may clear it, miss the publication, and sleep on it
        VarHandle.fullFence();
        if (pending.get()) {
            return;
        }
        signalling.incrementAndGet();
        try {
            if (!closed && pending.compareAndSet(false, true)) {
                LibC.write(fd, one, 8);
            }
        } finally {
            signalling.decrementAndGet();
        }
    }

    /**
     * Owner: reads the counter, then clears the flag. A wake-up written after the read stays in the
     * eventfd; one written before is covered by the drain the owner runs after this.
     */
    public void consume() {
        LibC.read(fd, sink, 8);
        pending.set(false);
    }

    /**
     * Owner, for a transport that keeps a read of the eventfd in flight (io_uring): the read
     * completed, so the flag is cleared; same ordering argument as {@link #consume()}.
     */
    public void consumed() {
        pending.set(false);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (signalling.get() != 0) {
            Thread.onSpinWait(); // a writer that saw closed == false finishes before the number is freed
        }
        LibC.close(fd);
    }
}
