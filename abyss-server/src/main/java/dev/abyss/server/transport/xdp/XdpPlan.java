package dev.abyss.server.transport.xdp;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.xdp.XdpRedirect;
import dev.abyss.ffi.xdp.Xsk;
import dev.abyss.ffi.xdp.XskSocket;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportFactory;
import dev.abyss.server.transport.TransportSettings;
import dev.abyss.server.transport.epoll.EpollTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One server's AF_XDP set-up, shared by its acceptors: the interface (resolved when the server
 * starts), the RX queues served (one acceptor each), and the XDP program with its XSKMAP, attached
 * when the first acceptor's socket is bound (so the program matches the port the kernel chose) and
 * detached when the last transport closes (or, through its BPF link, when the process dies).
 * (What the transports refuse and what they send through the socket instead are the server's
 * counters: {@code ServerStats.Counter.XDP_FRAMES_REFUSED}, {@code XDP_SOCKET_SENDS}.)
 */
final class XdpPlan implements TransportFactory.Opener {
    private static final Logger LOG = LoggerFactory.getLogger(XdpPlan.class);
    static final int FRAME_SIZE = 2048;

    final ServerConfig.XdpOptions options;
    final String interfaceName;
    final int ifindex;
    /** RX queues of the interface (the XSKMAP's slots). */
    final int interfaceQueues;
    /** Queues served, from 0. */
    final int queues;
    final int mtu;
    private XdpRedirect redirect;
    private int nextQueue;
    private int open;
    private boolean zeroCopy;

    private XdpPlan(ServerConfig.XdpOptions options, String interfaceName, int ifindex, int interfaceQueues, int queues, int mtu) {
        this.options = options;
        this.interfaceName = interfaceName;
        this.ifindex = ifindex;
        this.interfaceQueues = interfaceQueues;
        this.queues = queues;
        this.mtu = mtu;
    }

    /**
     * Resolves {@code config}'s interface and queues.
     *
     * @throws IllegalStateException naming what is missing: the interface, or a queue count it does not have
     */
    static XdpPlan resolve(ServerConfig config) {
        ServerConfig.XdpOptions o = config.xdp();
        InetSocketAddress bind = (InetSocketAddress) config.socket().bindAddress();
        String name = o.interfaceName() != null ? o.interfaceName() : interfaceOf(bind.getAddress());
        int ifindex;
        try {
            ifindex = Xsk.interfaceIndex(name);
        } catch (NativeException e) {
            throw new IllegalStateException("transport XDP: unknown interface '" + name + "' in this network namespace ("
                    + e.errnoName() + ")", e);
        }
        if (Path.of("/sys/class/net", name, "flags").toFile().exists() && isLoopback(name)) {
            // never on the machine's loopback, which every other server shares: that is not what XDP is for
            throw new IllegalStateException("transport XDP unavailable on loopback (" + name + "): " + XdpTransport.SUITE_REASON);
        }
        int total = Xsk.rxQueues(name);
        int served = o.queues() == 0 ? total : o.queues();
        if (served > total) {
            throw new IllegalStateException("transport XDP: xdpQueues " + served + " but interface " + name + " has " + total
                    + " RX queue" + (total == 1 ? "" : "s"));
        }
        return new XdpPlan(o, name, ifindex, total, served, mtu(name));
    }

    private static String interfaceOf(InetAddress address) {
        if (address.isAnyLocalAddress()) {
            throw new IllegalStateException("transport XDP: a wildcard bind (" + address.getHostAddress()
                    + ") serves no one interface: name it with xdpInterface");
        }
        try {
            NetworkInterface ni = NetworkInterface.getByInetAddress(address);
            if (ni == null) {
                throw new IllegalStateException("transport XDP: no interface of this network namespace has "
                        + address.getHostAddress() + ": name it with xdpInterface");
            }
            return ni.getName();
        } catch (SocketException e) {
            throw new IllegalStateException("transport XDP: cannot list the interfaces: " + e.getMessage(), e);
        }
    }

    private static boolean isLoopback(String name) {
        try {
            int flags = Integer.decode(Files.readString(Path.of("/sys/class/net", name, "flags")).strip());
            return (flags & 0x8) != 0; // IFF_LOOPBACK
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    private static int mtu(String name) {
        try {
            return Integer.parseInt(Files.readString(Path.of("/sys/class/net", name, "mtu")).strip());
        } catch (IOException | NumberFormatException e) {
            return 1500;
        }
    }

    @Override
    public int acceptors(int configured) {
        return queues;
    }

    @Override
    public synchronized Transport open(TransportSettings settings, SocketAddress address, boolean reusePort, boolean probeFirst,
                                       Transport.ReceiveSink receiver, Transport.SendSink sender) throws IOException {
        if (nextQueue >= queues) {
            throw new IllegalStateException("transport XDP: " + queues + " queues served, a transport for one more asked");
        }
        // the bound socket first: it reserves the port (and picks it for port 0) before the program matches it
        EpollTransport socket = (EpollTransport) EpollTransport.FACTORY.open(settings, address, reusePort, probeFirst,
                receiver, sender);
        XskSocket xsk = null;
        try {
            InetSocketAddress local = (InetSocketAddress) socket.localAddress();
            if (redirect == null) {
                redirect = attach(local);
            }
            int queue = nextQueue;
            int frames = options.umemFrames();
            xsk = XskSocket.open(ifindex, queue, frames, FRAME_SIZE, frames / 2, switch (options.copy()) {
                case AUTO -> XskSocket.CopyMode.AUTO;
                case COPY -> XskSocket.CopyMode.COPY;
                case ZERO_COPY -> XskSocket.CopyMode.ZERO_COPY;
            });
            redirect.register(queue, xsk.fd());
            zeroCopy = xsk.zeroCopy();
            nextQueue++;
            open++;
            if (nextQueue == queues) {
                LOG.info("transport XDP on {}: {}", interfaceName, describe());
            }
            return new XdpTransport(this, queue, socket, xsk, settings, new PeerKey().set(local), receiver, sender);
        } catch (NativeException e) {
            if (xsk != null) {
                xsk.close();
            }
            socket.close();
            releaseIfUnused();
            throw new IOException(reason(e), e);
        } catch (RuntimeException e) {
            if (xsk != null) {
                xsk.close();
            }
            socket.close();
            releaseIfUnused();
            throw e;
        }
    }

    private XdpRedirect attach(InetSocketAddress local) throws NativeException {
        byte[] address = local.getAddress().getAddress();
        if (local.getAddress().isAnyLocalAddress() && address.length == 16) {
            address = null; // [::]: both families, any address (the parser refuses what the bind does not serve)
        }
        return switch (options.attach()) {
            case NATIVE -> XdpRedirect.attach(ifindex, interfaceQueues, address, local.getPort(), true);
            case GENERIC -> XdpRedirect.attach(ifindex, interfaceQueues, address, local.getPort(), false);
            case AUTO -> {
                try {
                    yield XdpRedirect.attach(ifindex, interfaceQueues, address, local.getPort(), true);
                } catch (NativeException e) {
                    if (e.errno() != Errno.EOPNOTSUPP && e.errno() != Errno.EINVAL) {
                        throw e;
                    }
                    LOG.info("transport XDP: {} has no native XDP ({}): generic mode", interfaceName, e.errnoName());
                    yield XdpRedirect.attach(ifindex, interfaceQueues, address, local.getPort(), false);
                }
            }
        };
    }

    /** What failed, and what it takes: the errno a missing privilege or feature gives. */
    private String reason(NativeException e) {
        String what = "transport XDP on " + interfaceName + ": ";
        return switch (e.errno()) {
            case Errno.EPERM -> what + "needs CAP_NET_ADMIN and CAP_BPF (root, or setcap on the java binary): " + e.getMessage();
            case Errno.EAFNOSUPPORT -> what + "this kernel has no AF_XDP (CONFIG_XDP_SOCKETS): " + e.getMessage();
            case Errno.EBUSY -> what + "another XDP program or socket holds the interface or queue: " + e.getMessage();
            default -> what + e.getMessage();
        };
    }

    /** A transport closed: the last one detaches the program. */
    synchronized void release() {
        open--;
        releaseIfUnused();
    }

    private void releaseIfUnused() {
        if (open == 0 && redirect != null) {
            redirect.close();
            redirect = null;
            LOG.info("transport XDP on {}: program detached", interfaceName);
        }
    }

    /**
     * {@return the start line's part: mode, copy, queues}
     */
    @Override
    public synchronized String describe() {
        return (redirect == null ? "not attached" : redirect.nativeMode() ? "native mode" : "generic mode")
                + ", " + (zeroCopy ? "zero-copy" : "copy") + ", queues 0-" + (queues - 1) + " of " + interfaceQueues
                + " on " + interfaceName + ", UMEM " + options.umemFrames() + " x " + FRAME_SIZE + " B a queue";
    }
}
