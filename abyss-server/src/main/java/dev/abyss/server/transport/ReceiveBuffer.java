package dev.abyss.server.transport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The receive buffer a socket gets when {@link TransportSettings#receiveBufferSize()} is 0, and the
 * one report of what the kernel granted.
 */
public final class ReceiveBuffer {
    private static final Logger LOG = LoggerFactory.getLogger(ReceiveBuffer.class);

    /**
     * SO_RCVBUF asked for by default: 4 MiB (Linux grants twice that, its bookkeeping included). The
     * Linux default (net.core.rmem_default, 208 KiB on most systems) holds only a few hundred small
     * datagrams once the kernel's per-datagram overhead (about 1 KiB of skb for a small datagram) is
     * counted: a pause of a millisecond or two of an acceptor at a few hundred thousand datagrams per
     * second overflows it. 4 MiB absorbs several thousand small datagrams, and is a full receive batch
     * of the largest ones (64 × 64 KiB with the default settings); memory is charged only while
     * datagrams wait. The native transports ask with SO_RCVBUFFORCE first (granted whatever
     * net.core.rmem_max says when the process has CAP_NET_ADMIN), else with SO_RCVBUF, which the
     * kernel caps at net.core.rmem_max. A socket whose default is already larger keeps it.
     */
    public static final int DEFAULT = 4 << 20;

    /** Granted sizes already logged: once per value per JVM, so once per server rather than per acceptor. */
    private static final Set<Integer> LOGGED = ConcurrentHashMap.newKeySet();

    private ReceiveBuffer() {
    }

    /**
     * Logs once, at info, that a socket got less than {@code asked} bytes: {@code granted} is what the
     * kernel granted, in the unit asked (Linux reports twice that through getsockopt SO_RCVBUF, its
     * bookkeeping included; the JDK's getOption halves it back).
     */
    public static void reportGranted(int asked, int granted) {
        if (granted < asked && LOGGED.add(granted)) {
            LOG.info("receive buffer: asked for {} bytes, the kernel granted {}, capped by net.core.rmem_max: a burst "
                            + "may overflow it (counted as kernel drops); raise it (sysctl -w net.core.rmem_max={}), "
                            + "run with CAP_NET_ADMIN, or set receiveBufferSize",
                    asked, granted, asked);
        }
    }
}
