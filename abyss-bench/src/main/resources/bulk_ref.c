/*
 * The C reference of the comparison's bulk scenario, without GSO: each request (16 bytes: replies
 * N as an int, peer id as an int, sequence as a long) is answered with N datagrams of 1,200 bytes
 * to its sender, all N in one sendmmsg, each starting with the request's 16 bytes and its index
 * (an int), then the body byte j = (byte) j: the bytes the Java servers send (Bulk.java).
 * One thread per SO_REUSEPORT socket, blocking recvmmsg of up to 64 requests.
 * Compiled by the comparison runner with gcc -O2.
 *
 *   bulk_ref PORT THREADS     prints "ready" once every socket is bound; runs until stdin closes
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define REQUEST 16
#define SEGMENT 1200
#define MAX_REPLIES 64

static int open_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    int rcvbuf = 4 << 20; /* the same 4 MiB every server of the comparison asks for */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0
        || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
        perror("socket");
        exit(1);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &a, sizeof a) != 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

static void *serve(void *arg) {
    int fd = (int) (long) arg;
    static __thread char req[BATCH][64];
    static __thread char replies[MAX_REPLIES][SEGMENT];
    struct mmsghdr in[BATCH];
    struct iovec in_iov[BATCH];
    struct sockaddr_storage names[BATCH];
    struct mmsghdr out[MAX_REPLIES];
    struct iovec out_iov[MAX_REPLIES];
    for (int i = 0; i < MAX_REPLIES; i++) {
        for (int j = REQUEST + 4; j < SEGMENT; j++) {
            replies[i][j] = (char) j;
        }
        out_iov[i].iov_base = replies[i];
        out_iov[i].iov_len = SEGMENT;
    }
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            in_iov[i].iov_base = req[i];
            in_iov[i].iov_len = sizeof req[i];
            memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
            in[i].msg_hdr.msg_iov = &in_iov[i];
            in[i].msg_hdr.msg_iovlen = 1;
            in[i].msg_hdr.msg_name = &names[i];
            in[i].msg_hdr.msg_namelen = sizeof names[i];
        }
        int n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) {
            continue;
        }
        for (int r = 0; r < n; r++) {
            int32_t count;
            if (in[r].msg_len < REQUEST) {
                continue;
            }
            memcpy(&count, req[r], sizeof count);
            if (count < 1 || count > MAX_REPLIES) {
                continue;
            }
            for (int32_t i = 0; i < count; i++) {
                memcpy(replies[i], req[r], REQUEST);
                memcpy(replies[i] + REQUEST, &i, sizeof i);
                memset(&out[i].msg_hdr, 0, sizeof out[i].msg_hdr);
                out[i].msg_hdr.msg_iov = &out_iov[i];
                out[i].msg_hdr.msg_iovlen = 1;
                out[i].msg_hdr.msg_name = &names[r];
                out[i].msg_hdr.msg_namelen = in[r].msg_hdr.msg_namelen;
            }
            int done = 0;
            while (done < count) {
                int s = sendmmsg(fd, out + done, count - done, 0);
                if (s <= 0) {
                    done++; /* skip the one the kernel refused */
                } else {
                    done += s;
                }
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: bulk_ref PORT THREADS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int threads = atoi(argv[2]);
    int fds[64];
    for (int t = 0; t < threads && t < 64; t++) {
        fds[t] = open_socket(port);
    }
    for (int t = 0; t < threads && t < 64; t++) {
        pthread_t th;
        pthread_create(&th, NULL, serve, (void *) (long) fds[t]);
        pthread_detach(th);
    }
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
