package dev.abyss.server;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.ControlMessages;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Restart without loss: a running server hands its bound sockets to a successor process over a
 * Unix-domain socket (SCM_RIGHTS); the successor starts on them while the old server still reads,
 * says so, and only then does the old server stop receiving and end its sessions
 * ({@link Server#stop(Duration)}). Both processes read the same kernel sockets for a moment, so
 * every datagram is read (and answered) by exactly one of them, and nothing the kernel queued is lost.
 *
 * <p>The exchange, all AF_UNIX datagrams to and from {@code path}, which the old process binds
 * (mode 0600; removed as soon as a successor asks, so that the successor may offer there in turn):
 * <ol>
 * <li>the successor ({@link #takeOver}) connects to it from an autobound address and sends {@code TAKE};</li>
 * <li>the old process ({@link Server#handOff}) answers with every acceptor's socket (SCM_RIGHTS)
 *     and their names, one line each;</li>
 * <li>the successor starts its server on them ({@link ServerConfig.Builder#inheritedSockets(List)})
 *     and sends {@code STARTED} ({@link Takeover#started()}), or {@code FAILED reason}
 *     ({@link Takeover#failed(Throwable)}, or closing the takeover unconfirmed);</li>
 * <li>on {@code STARTED} the old process stops; on anything else, or no answer within the timeout,
 *     it keeps serving (it never stopped) and {@link Server#handOff} throws with the reason.</li>
 * </ol>
 *
 * <p>Sessions are process state: they end in the old process ({@link Handler#handleShutdown}) and
 * a peer's next datagram opens a new one in the successor, unless the application carries them.
 */
public final class Handoff {
    private static final String TAKE = "TAKE";
    private static final String STARTED = "STARTED";
    private static final String FAILED = "FAILED ";
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int MAX_FDS = 1024;
    private static final int BUFFER = 64 * 1024;
    private static final long POLL_MILLIS = 10;

    private Handoff() {
    }

    /** One received datagram: its payload, the fds that came with it, the sender's raw address. */
    private record Message(String text, int[] fds, byte[] from) {
    }

    /**
     * The successor's side, between receiving the sockets and saying whether it started on them.
     * Close it after {@link #started()} or {@link #failed(Throwable)}; closing it before either
     * tells the old process that the successor failed (it resumes) and closes the received sockets.
     */
    public static final class Takeover implements AutoCloseable {
        private final int fd;
        private final Path path;
        private final List<InheritedSocket> sockets;
        private boolean answered;

        private Takeover(int fd, Path path, List<InheritedSocket> sockets) {
            this.fd = fd;
            this.path = path;
            this.sockets = sockets;
        }

        /** {@return the sockets, for {@link ServerConfig.Builder#inheritedSockets(List)}, in the old server's acceptor order} */
        public List<InheritedSocket> sockets() {
            return sockets;
        }

        /**
         * Tells the old process that this one serves now: it stops receiving and ends its sessions.
         *
         * @throws IOException when the old process cannot be told (it keeps serving; both read the sockets)
         */
        public void started() throws IOException {
            answer(STARTED);
        }

        /**
         * Tells the old process that this one could not start: it resumes alone. Closes the received sockets.
         *
         * @param why the reason, sent to the old process for its error
         * @throws IOException when the old process cannot be told
         */
        public void failed(Throwable why) throws IOException {
            closeSockets();
            answer(FAILED + (why == null ? "unknown" : why.toString()));
        }

        private void closeSockets() {
            for (InheritedSocket s : sockets) {
                LibC.close(s.fd()); // the old process's copies keep the kernel sockets
            }
        }

        private void answer(String what) throws IOException {
            if (answered) {
                throw new IllegalStateException("takeover of " + path + " already answered");
            }
            answered = true;
            try {
                sendTo(fd, new byte[0], what, new int[0]); // to the connected peer
            } catch (NativeException e) {
                throw new IOException("handoff " + path + ": cannot answer the old process: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            if (!answered) {
                try {
                    failed(new IllegalStateException("the successor closed the takeover without starting"));
                } catch (IOException | RuntimeException ignored) {
                    // the old process times out and resumes anyway
                }
            }
            LibC.close(fd);
        }
    }

    /**
     * Takes over the sockets a server offers at {@code path} ({@link Server#handOff}).
     *
     * @param path    the Unix-domain socket the old process listens on
     * @param timeout how long to wait for its answer
     * @return the sockets received; answer with {@link Takeover#started()} or {@link Takeover#failed(Throwable)}
     * @throws IOException naming the path: nothing listens there, no answer in time, no sockets came
     */
    public static Takeover takeOver(Path path, Duration timeout) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(timeout, "timeout");
        int fd;
        try {
            fd = Sockets.openDatagram(Net.AF_UNIX, true);
        } catch (NativeException e) {
            throw new IOException("takeover " + path + ": " + e.getMessage(), e);
        }
        try {
            autobind(fd);
            try {
                // connected: the answers reach the old process's socket even once its path is unlinked
                Sockets.connect(fd, UnixDomainSocketAddress.of(path));
                sendTo(fd, new byte[0], TAKE, new int[0]);
            } catch (NativeException e) {
                throw new IOException("takeover " + path + ": no server offers its sockets there (" + e.getMessage()
                        + "): start the running one with --handoff " + path + " / Server.handOff", e);
            }
            Message m = receive(fd, System.nanoTime() + timeout.toNanos());
            if (m == null) {
                throw new IOException("takeover " + path + ": no answer within " + timeout);
            }
            if (m.fds().length == 0) {
                throw new IOException("takeover " + path + ": the old process sent no sockets: " + m.text());
            }
            String[] names = m.text().split("\n", -1);
            List<InheritedSocket> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < m.fds().length; i++) {
                    String name = i < names.length && !names[i].isEmpty() ? names[i] : null;
                    sockets.add(InheritedSocket.inspect(m.fds()[i], name));
                }
            } catch (IllegalArgumentException e) {
                for (int f : m.fds()) {
                    LibC.close(f);
                }
                throw new IOException("takeover " + path + ": " + e.getMessage(), e);
            }
            return new Takeover(fd, path, List.copyOf(sockets));
        } catch (IOException | RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /** {@link Server#handOff}: offers, sends, waits for the successor's word, and stops on STARTED. */
    static void offer(Server server, int[] fds, List<String> names, Path path, Duration offerTimeout,
                      Duration startTimeout, Duration shutdownTimeout) throws IOException {
        int fd;
        try {
            fd = Sockets.openDatagram(Net.AF_UNIX, true);
        } catch (NativeException e) {
            throw new IOException("handoff " + path + ": " + e.getMessage(), e);
        }
        boolean bound = false;
        try {
            // bound under a private name, made 0600, then linked to the path: the path never exists
            // with the umask's permissions, not even for a moment (link, unlike rename, never replaces)
            Path hidden = path.resolveSibling("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".offer");
            try {
                Files.deleteIfExists(hidden); // our own leftover: the pid is ours
                Sockets.bind(fd, UnixDomainSocketAddress.of(hidden));
                try {
                    Files.setPosixFilePermissions(hidden, PosixFilePermissions.fromString("rw-------"));
                    Files.createLink(path, hidden);
                    bound = true;
                } finally {
                    Files.deleteIfExists(hidden);
                }
            } catch (NativeException e) {
                throw new IOException("handoff " + path + ": cannot listen there: " + e.getMessage(), e);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                throw new IOException("handoff " + path + ": cannot listen there: a file is in the way (another offer, "
                        + "or a stale socket to remove)", e);
            }
            long deadline = System.nanoTime() + (offerTimeout == null ? Duration.ofDays(3650) : offerTimeout).toNanos();
            Message take;
            do {
                take = receive(fd, deadline);
                if (take == null) {
                    throw new IOException("handoff " + path + ": no successor came within " + offerTimeout + "; still serving");
                }
                if (server.isStopped()) {
                    throw new IOException("handoff " + path + ": the server stopped meanwhile");
                }
            } while (!TAKE.equals(take.text()) || take.from().length == 0);
            // one successor per offer: the path is free again at once, for the successor's own offer
            Files.deleteIfExists(path);
            bound = false;
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < names.size(); i++) {
                text.append(i > 0 ? "\n" : "").append(names.get(i) == null ? "" : names.get(i));
            }
            try {
                sendTo(fd, take.from(), text.toString(), fds);
            } catch (NativeException e) {
                throw new IOException("handoff " + path + ": cannot send the sockets: " + e.getMessage() + "; still serving", e);
            }
            Message word = receive(fd, System.nanoTime() + startTimeout.toNanos());
            if (word == null) {
                throw new IOException("handoff " + path + ": the successor did not say it started within " + startTimeout
                        + "; still serving (it may read the sockets too until it exits)");
            }
            if (!STARTED.equals(word.text())) {
                throw new IOException("handoff " + path + ": the successor did not start: "
                        + (word.text().startsWith(FAILED) ? word.text().substring(FAILED.length()) : word.text()) + "; still serving");
            }
            server.stop(shutdownTimeout);
        } finally {
            LibC.close(fd);
            if (bound) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static void autobind(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            sa.set(JAVA_SHORT, 0, (short) Net.AF_UNIX);
            LibC.check(LibC.bind(fd, sa, 2), "bind(AF_UNIX autobind)"); // an abstract address the kernel picks
        } catch (NativeException e) {
            throw new IOException("takeover: " + e.getMessage(), e);
        }
    }

    private static void sendTo(int fd, byte[] to, String text, int[] fds) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            MemorySegment payload = arena.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, payload, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
            MemorySegment name = arena.allocate(Math.max(1, to.length));
            MemorySegment.copy(to, 0, name, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, to.length);
            MemorySegment iov = arena.allocate(MsgLayouts.IOVEC);
            iov.set(JAVA_LONG, MsgLayouts.IOV_BASE, payload.address());
            iov.set(JAVA_LONG, MsgLayouts.IOV_LEN, bytes.length);
            MemorySegment msg = arena.allocate(MsgLayouts.MSGHDR);
            if (to.length > 0) { // else the connected peer
                msg.set(JAVA_LONG, MsgLayouts.MSG_NAME, name.address());
                msg.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, to.length);
            }
            msg.set(JAVA_LONG, MsgLayouts.MSG_IOV, iov.address());
            msg.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
            if (fds.length > 0) {
                long space = MsgLayouts.cmsgSpace(4L * fds.length);
                MemorySegment control = arena.allocate(space, 8);
                long data = ControlMessages.write(control, 0, Net.SOL_SOCKET, Net.SCM_RIGHTS, 4L * fds.length);
                for (int i = 0; i < fds.length; i++) {
                    control.set(JAVA_INT, data + 4L * i, fds[i]);
                }
                msg.set(JAVA_LONG, MsgLayouts.MSG_CONTROL, control.address());
                msg.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, space);
            }
            long n;
            long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            do {
                n = LibC.sendmsg(fd, msg, 0);
                if (n == -Errno.EAGAIN && System.nanoTime() < until) {
                    sleep();
                }
            } while ((n == -Errno.EAGAIN && System.nanoTime() < until) || n == -Errno.EINTR);
            LibC.check(n, "sendmsg(AF_UNIX" + (fds.length > 0 ? ", SCM_RIGHTS x" + fds.length : "") + ")");
        }
    }

    /** The next datagram on {@code fd}, or null at {@code deadline}. */
    private static Message receive(int fd, long deadline) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment payload = arena.allocate(BUFFER);
            MemorySegment name = arena.allocate(SockAddr.SOCKADDR_STORAGE);
            long space = MsgLayouts.cmsgSpace(4L * MAX_FDS);
            MemorySegment control = arena.allocate(space, 8);
            MemorySegment iov = arena.allocate(MsgLayouts.IOVEC);
            iov.set(JAVA_LONG, MsgLayouts.IOV_BASE, payload.address());
            iov.set(JAVA_LONG, MsgLayouts.IOV_LEN, BUFFER);
            MemorySegment msg = arena.allocate(MsgLayouts.MSGHDR);
            while (true) {
                msg.fill((byte) 0);
                msg.set(JAVA_LONG, MsgLayouts.MSG_NAME, name.address());
                msg.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, SockAddr.STORAGE_SIZE);
                msg.set(JAVA_LONG, MsgLayouts.MSG_IOV, iov.address());
                msg.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
                msg.set(JAVA_LONG, MsgLayouts.MSG_CONTROL, control.address());
                msg.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, space);
                long n = LibC.recvmsg(fd, msg, MSG_CMSG_CLOEXEC);
                if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                    if (System.nanoTime() - deadline >= 0) {
                        return null;
                    }
                    sleep();
                    continue;
                }
                if (n < 0) {
                    throw new IOException("recvmsg(AF_UNIX): " + Errno.name((int) -n));
                }
                String text = new String(payload.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                int nameLength = msg.get(JAVA_INT, MsgLayouts.MSG_NAMELEN);
                byte[] from = nameLength > 2 ? name.asSlice(0, nameLength).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE) : new byte[0];
                long controlLength = msg.get(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN);
                int[] fds = new int[0];
                long at = ControlMessages.find(control, 0, controlLength, Net.SOL_SOCKET, Net.SCM_RIGHTS);
                if (at >= 0) {
                    int count = (int) (ControlMessages.dataLength(control, at) / 4);
                    fds = new int[count];
                    for (int i = 0; i < count; i++) {
                        fds[i] = control.get(JAVA_INT, at + 4L * i);
                    }
                }
                return new Message(text, fds, from);
            }
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
