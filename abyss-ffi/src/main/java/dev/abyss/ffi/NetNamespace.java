package dev.abyss.ffi;

import dev.abyss.ffi.net.Net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs code inside another network namespace while the rest of the process stays where it is.
 * {@code setns(2)} with {@code CLONE_NEWNET} moves only the calling thread, so the work runs on a
 * dedicated platform thread that enters the namespace, runs it, and goes back to the namespace it
 * started in before it ends (a failure to go back ends that thread, never leaves another one
 * astray). A socket keeps the namespace it was created in for its whole life: created here, it
 * sends, receives and resolves interface names there from any thread.
 *
 * <p>Needs CAP_SYS_ADMIN (root, or a user namespace that owns the network namespace).
 */
public final class NetNamespace {
    private NetNamespace() {
    }

    /**
     * The namespace file of {@code name}: a path as given, or {@code /run/netns/NAME} (where
     * {@code ip netns add} puts them) for a bare name.
     *
     * @param name a name or a path
     * @return the file's path
     */
    public static String path(String name) {
        return name.indexOf('/') >= 0 ? name : "/run/netns/" + name;
    }

    /**
     * Runs {@code work} on a new platform thread inside the network namespace {@code name} and
     * returns its result.
     *
     * @param name the namespace: a name under {@code /run/netns} or a path (e.g. {@code /proc/PID/ns/net})
     * @param work what to do there
     * @param <T>  its result
     * @return what {@code work} returned
     * @throws NativeException naming the namespace when it cannot be opened or entered (ENOENT: no such
     *                         namespace; EPERM: no CAP_SYS_ADMIN; EINVAL: not a network namespace)
     * @throws Exception       what {@code work} threw
     */
    public static <T> T run(String name, Callable<T> work) throws Exception {
        String path = path(name);
        AtomicReference<Object> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("abyss-netns-" + name).unstarted(() -> {
            try {
                result.set(inside(path, work));
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        Throwable f = failure.get();
        if (f instanceof Exception e) {
            throw e;
        }
        if (f instanceof Error e) {
            throw e;
        }
        @SuppressWarnings("unchecked") T r = (T) result.get();
        return r;
    }

    private static <T> T inside(String path, Callable<T> work) throws Exception {
        int home = open("/proc/thread-self/ns/net", "the current network namespace");
        try {
            int target = open(path, "network namespace");
            try {
                LibC.check(LibC.setns(target, Net.CLONE_NEWNET), "setns(" + path + ", CLONE_NEWNET)");
            } finally {
                LibC.close(target);
            }
            try {
                return work.call();
            } finally {
                int rc = LibC.setns(home, Net.CLONE_NEWNET);
                if (rc < 0) { // this thread ends now: nothing else runs in the wrong namespace
                    throw new NativeException("setns back to the original namespace", -rc);
                }
            }
        } finally {
            LibC.close(home);
        }
    }

    private static int open(String path, String what) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            return LibC.check(LibC.open(p, Net.O_RDONLY | Net.O_CLOEXEC), "open(" + what + " " + path + ")");
        }
    }
}
