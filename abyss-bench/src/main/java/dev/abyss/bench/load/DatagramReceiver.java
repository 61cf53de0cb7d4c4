package dev.abyss.bench.load;

import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;

/**
 * What a load-generator thread does with each datagram its peers' sockets receive, and the receive
 * round every such thread runs ({@link #receiveReady}). Implemented by the thread's worker itself,
 * so a round allocates nothing.
 */
interface DatagramReceiver {
    /** Entry {@code j} of {@code in}, received on peer {@code peer}'s socket at {@code now} (nanoTime). */
    void received(int peer, MessageBatch in, int j, long now);

    /**
     * One receive round: waits up to {@code timeoutMillis} for {@code epoll} (each of {@code fds}
     * registered with its index as the data), then drains every ready socket with non-blocking
     * recvmmsg of up to {@code batch} datagrams until one returns fewer, handing each datagram to
     * {@code receiver}.
     */
    static void receiveReady(Epoll epoll, int[] fds, MessageBatch in, int batch, int timeoutMillis, DatagramReceiver receiver) {
        int ready = epoll.await(timeoutMillis);
        for (int r = 0; r < ready; r++) {
            int p = (int) epoll.data(r);
            while (true) {
                int got = in.receive(fds[p], batch, Net.MSG_DONTWAIT);
                if (got <= 0) {
                    break;
                }
                long now = System.nanoTime();
                for (int j = 0; j < got; j++) {
                    receiver.received(p, in, j, now);
                }
                if (got < batch) {
                    break;
                }
            }
        }
    }
}
