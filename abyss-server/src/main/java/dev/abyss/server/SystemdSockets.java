package dev.abyss.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * systemd socket activation: the datagram sockets systemd (a {@code .socket} unit with
 * {@code ListenDatagram=}, or {@code systemd-socket-activate --datagram}) opened, bound and passed
 * to this process, read with the semantics of {@code sd_listen_fds(3)}:
 * <ul>
 *   <li>{@code LISTEN_FDS} is how many: the sockets are descriptors 3, 4, ... 3+N-1;</li>
 *   <li>{@code LISTEN_PID} must be this process's pid: the variables were meant for this process,
 *       not inherited by a child from a parent that was activated;</li>
 *   <li>{@code LISTEN_FDNAMES} (optional) names them, colon separated ({@code FileDescriptorName=}).</li>
 * </ul>
 * Each descriptor is checked with the kernel ({@link InheritedSocket#inspect}): a {@code SOCK_DGRAM}
 * socket of AF_INET, AF_INET6 or AF_UNIX, bound, all of one family. Unlike {@code sd_listen_fds},
 * the variables are left set (Java cannot unset them); the descriptors are made close-on-exec when
 * a server adopts them.
 *
 * <pre>{@code
 * Server server = Abyss.start(ServerConfig.builder()
 *         .inheritedSockets(SystemdSockets.listenFds())   // one acceptor per socket
 *         .datagramHandler(handler)
 *         .build());
 * }</pre>
 */
public final class SystemdSockets {
    /** {@code SD_LISTEN_FDS_START}: the first passed descriptor. */
    public static final int LISTEN_FDS_START = 3;

    private SystemdSockets() {
    }

    /**
     * The sockets systemd passed to this process, from its environment.
     *
     * @return the sockets, in descriptor order (3, 4, ...), each with its name when LISTEN_FDNAMES gives one
     * @throws IllegalStateException    the environment has no LISTEN_FDS (the process was not socket-activated)
     * @throws IllegalArgumentException what {@link #listenFds(Map, long)} refuses
     */
    public static List<InheritedSocket> listenFds() {
        return listenFds(System.getenv(), ProcessHandle.current().pid());
    }

    /**
     * The sockets an environment {@code env} passes to the process {@code pid}.
     *
     * @param env the environment (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES)
     * @param pid the pid LISTEN_PID must name
     * @return the sockets, in descriptor order, named by LISTEN_FDNAMES where it has a name
     * @throws IllegalStateException    LISTEN_FDS is not set, or LISTEN_PID is not set
     * @throws IllegalArgumentException naming the variable or the fd and what is wrong: LISTEN_FDS not
     *                                  a number or below 1; LISTEN_PID not a number or another process's;
     *                                  LISTEN_FDNAMES with another count of names; a descriptor that
     *                                  is not a bound datagram socket, or of another family than the first
     */
    public static List<InheritedSocket> listenFds(Map<String, String> env, long pid) {
        String fds = env.get("LISTEN_FDS");
        if (fds == null) {
            throw new IllegalStateException("LISTEN_FDS is not set: this process was not started by systemd socket"
                    + " activation (a .socket unit with ListenDatagram=, or systemd-socket-activate --datagram)");
        }
        String listenPid = env.get("LISTEN_PID");
        if (listenPid == null) {
            throw new IllegalStateException("LISTEN_FDS=" + fds + " but LISTEN_PID is not set: cannot tell the sockets are this process's");
        }
        long forPid;
        try {
            forPid = Long.parseLong(listenPid.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LISTEN_PID is not a number: '" + listenPid + "'");
        }
        if (forPid != pid) {
            throw new IllegalArgumentException("LISTEN_PID=" + forPid + " is another process's, not this one's (pid " + pid
                    + "): the sockets were passed to it, and this process only inherited its environment");
        }
        int n;
        try {
            n = Integer.parseInt(fds.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LISTEN_FDS is not a number: '" + fds + "'");
        }
        if (n < 1) {
            throw new IllegalArgumentException("LISTEN_FDS=" + n + ": no sockets were passed (at least 1 expected)");
        }
        if (n > Integer.MAX_VALUE - LISTEN_FDS_START) {
            throw new IllegalArgumentException("LISTEN_FDS=" + n + " is out of range");
        }
        String names = env.get("LISTEN_FDNAMES");
        String[] name = null;
        if (names != null) {
            name = names.split(":", -1);
            if (name.length != n) {
                throw new IllegalArgumentException("LISTEN_FDNAMES='" + names + "' has " + name.length
                        + " names for LISTEN_FDS=" + n + " sockets");
            }
        }
        List<InheritedSocket> sockets = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            sockets.add(InheritedSocket.inspect(LISTEN_FDS_START + i, name != null && !name[i].isEmpty() ? name[i] : null));
        }
        return InheritedSocket.checkTogether(sockets);
    }
}
