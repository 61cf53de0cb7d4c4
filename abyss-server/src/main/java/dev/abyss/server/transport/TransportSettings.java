package dev.abyss.server.transport;

import dev.abyss.server.ServerConfig;

/**
 * What a transport needs from the server's config: socket options and buffer sizes.
 *
 * @param receiveBatchSize datagrams per receive batch (recvmmsg entries, provided buffers per round)
 * @param maxDatagramSize  bytes per receive slot: a longer datagram is cut and flagged truncated
 * @param receiveBufferSize SO_RCVBUF, 0 for the kernel's default
 * @param sendBufferSize   SO_SNDBUF, 0 for the kernel's default
 */
public record TransportSettings(int receiveBatchSize, int maxDatagramSize, int receiveBufferSize, int sendBufferSize,
                                boolean reuseAddress, boolean ipv6Only) {

    public static TransportSettings of(ServerConfig config) {
        return new TransportSettings(config.receiveBatchSize(), config.maxDatagramSize(), config.receiveBufferSize(),
                config.sendBufferSize(), config.reuseAddress(), config.ipv6Only());
    }
}
