/**
 * The AF_XDP transport's frame side: {@link dev.abyss.server.transport.xdp.FrameParser} checks a
 * received Ethernet frame (optional 802.1Q tag, IPv4 or IPv6, UDP) and reads the facts the socket
 * transports give into a reused {@link dev.abyss.server.transport.xdp.ReceivedFrame};
 * {@link dev.abyss.server.transport.xdp.FrameWriter} builds a reply frame (Ethernet, IP and UDP
 * headers with their checksums) as the kernel's socket path would send it. The offsets are in
 * {@link dev.abyss.server.transport.xdp.FrameLayout}, the one's complement sums in
 * {@link dev.abyss.server.transport.xdp.Checksum}. Nothing here makes a system call or allocates
 * per frame. Not exported.
 */
package dev.abyss.server.transport.xdp;
