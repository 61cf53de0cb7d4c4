/*
 * The C reference of the comparison: what the kernel gives a plain recvmmsg/sendmmsg echo.
 * One thread per SO_REUSEPORT socket, blocking recvmmsg of up to 64 datagrams, then one sendmmsg
 * of the same vectors back to their senders. Compiled by the comparison runner with gcc -O2.
 *
 *   echo_ref PORT THREADS     prints "ready" once every socket is bound; runs until stdin closes
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 2048

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
    static __thread char data[BATCH][SLOT];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage names[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = data[i];
            iov[i].iov_len = SLOT;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &names[i];
            msgs[i].msg_hdr.msg_namelen = sizeof names[i];
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) {
            continue;
        }
        for (int i = 0; i < n; i++) {
            iov[i].iov_len = msgs[i].msg_len;
        }
        int done = 0;
        while (done < n) {
            int s = sendmmsg(fd, msgs + done, n - done, 0);
            if (s <= 0) {
                done++; /* skip the one the kernel refused */
            } else {
                done += s;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: echo_ref PORT THREADS\n");
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
