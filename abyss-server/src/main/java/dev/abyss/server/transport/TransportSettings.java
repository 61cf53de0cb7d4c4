package dev.abyss.server.transport;

import dev.abyss.server.ServerConfig;

/**
 * What a transport needs from the server's config: socket options and buffer sizes.
 *
 * @param receiveBatchSize datagrams per receive batch (recvmmsg entries, provided buffers per round)
 * @param maxDatagramSize  bytes per receive slot: a longer datagram is cut and flagged truncated
 * @param receiveBufferSize SO_RCVBUF, 0 for the default ({@link ReceiveBuffer#DEFAULT} on an IP socket, the kernel's on AF_UNIX)
 * @param sendBufferSize   SO_SNDBUF, 0 for the kernel's default
 * @param receiveTrafficClass IP_RECVTOS / IPV6_RECVTCLASS
 * @param receiveTimestamps SO_TIMESTAMPNS
 * @param gso              coalesce sends to one peer (UDP_SEGMENT)
 * @param gsoMaxSegments   most segments per GSO send ({@link Gso#MAX_SEGMENTS}; more only to provoke a refusal in tests)
 * @param gro              UDP_GRO on the socket (needs a 64 KiB maxDatagramSize)
 * @param listen           the typed socket options, multicast groups and network namespace ({@link ServerConfig#listen()})
 */
public record TransportSettings(int receiveBatchSize, int maxDatagramSize, int receiveBufferSize, int sendBufferSize,
                                boolean reuseAddress, boolean ipv6Only, boolean receiveTrafficClass,
                                boolean receiveTimestamps, boolean gso, int gsoMaxSegments, boolean gro,
                                ServerConfig.ListenOptions listen) {

    /** Checks the listen options are there. */
    public TransportSettings {
        java.util.Objects.requireNonNull(listen, "listen");
    }

    /** Settings without listen options. */
    public TransportSettings(int receiveBatchSize, int maxDatagramSize, int receiveBufferSize, int sendBufferSize,
                             boolean reuseAddress, boolean ipv6Only, boolean receiveTrafficClass,
                             boolean receiveTimestamps, boolean gso, int gsoMaxSegments, boolean gro) {
        this(receiveBatchSize, maxDatagramSize, receiveBufferSize, sendBufferSize, reuseAddress, ipv6Only,
                receiveTrafficClass, receiveTimestamps, gso, gsoMaxSegments, gro, ServerConfig.ListenOptions.NONE);
    }

    /** Settings without the optional datagram facts and offloads. */
    public TransportSettings(int receiveBatchSize, int maxDatagramSize, int receiveBufferSize, int sendBufferSize,
                             boolean reuseAddress, boolean ipv6Only) {
        this(receiveBatchSize, maxDatagramSize, receiveBufferSize, sendBufferSize, reuseAddress, ipv6Only,
                false, false, false, Gso.MAX_SEGMENTS, false);
    }

    public static TransportSettings of(ServerConfig config) {
        ServerConfig.SocketOptions s = config.socket();
        return new TransportSettings(s.receiveBatchSize(), s.maxDatagramSize(), s.receiveBufferSize(),
                s.sendBufferSize(), s.reuseAddress(), s.ipv6Only(), s.receiveTrafficClass(),
                s.receiveTimestamps(), s.gso(), Gso.MAX_SEGMENTS, s.gro(), config.listen());
    }

    /** These settings with {@code listen} as the listen options (tests). */
    public TransportSettings withListen(ServerConfig.ListenOptions listen) {
        return new TransportSettings(receiveBatchSize, maxDatagramSize, receiveBufferSize, sendBufferSize, reuseAddress,
                ipv6Only, receiveTrafficClass, receiveTimestamps, gso, gsoMaxSegments, gro, listen);
    }

    /** These settings with GSO and GRO as given (tests). */
    public TransportSettings withOffloads(boolean gso, int gsoMaxSegments, boolean gro) {
        return new TransportSettings(receiveBatchSize, maxDatagramSize, receiveBufferSize, sendBufferSize, reuseAddress,
                ipv6Only, receiveTrafficClass, receiveTimestamps, gso, gsoMaxSegments, gro, listen);
    }
}
