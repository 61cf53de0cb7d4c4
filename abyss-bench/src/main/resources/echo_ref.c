/*
 * The C reference of the comparison: what the kernel gives a plain recvmmsg/sendmmsg server.
 * One thread per SO_REUSEPORT socket, blocking recvmmsg of up to 64 datagrams, then, by mode:
 *
 *   echo (the default)  one sendmmsg of the same vectors back to their senders.
 *   bulk                the bulk scenario's server, without GSO: each request (16 bytes: replies N
 *                       as an int, peer id as an int, sequence as a long) is answered with N
 *                       datagrams of 1,200 bytes to its sender, all N in one sendmmsg, each starting
 *                       with the request's 16 bytes and its index (an int), then the body byte
 *                       j = (byte) j: the bytes the Java servers send (Bulk.java).
 *
 * Compiled by the comparison runner with gcc -O2.
 *
 *   echo_ref PORT THREADS [bulk]   prints "ready" once every socket is bound; runs until stdin closes
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
#define SLOT 2048
/* bulk mode: a request's bytes, a reply's bytes, and the most replies a request may ask for */
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
    const char *at = getenv("ECHO_BIND"); /* the veth scenario binds the server namespace's address */
    if (at != NULL && inet_pton(AF_INET, at, &a.sin_addr) != 1) {
        fprintf(stderr, "ECHO_BIND is not an IPv4 address: %s\n", at);
        exit(2);
    }
    if (bind(fd, (struct sockaddr *) &a, sizeof a) != 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

/* Sends msgs[0..n), as many per sendmmsg as the kernel takes; one it refuses is skipped (UDP: dropped). */
static void send_all(int fd, struct mmsghdr *msgs, int n) {
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

/* Bulk mode: the N replies of one request, their bodies written once per thread, headers stamped per request. */
static __thread char replies[MAX_REPLIES][SEGMENT];
static __thread struct mmsghdr out[MAX_REPLIES];
static __thread struct iovec out_iov[MAX_REPLIES];

static void prepare_replies(void) {
    for (int i = 0; i < MAX_REPLIES; i++) {
        for (int j = REQUEST + 4; j < SEGMENT; j++) {
            replies[i][j] = (char) j;
        }
        out_iov[i].iov_base = replies[i];
        out_iov[i].iov_len = SEGMENT;
    }
}

/* Bulk mode: answers the request of len bytes in req, from name (namelen bytes), with its N replies in one sendmmsg. */
static void answer(int fd, const char *req, unsigned len, struct sockaddr_storage *name, socklen_t namelen) {
    int32_t count;
    if (len < REQUEST) {
        return;
    }
    memcpy(&count, req, sizeof count);
    if (count < 1 || count > MAX_REPLIES) {
        return;
    }
    for (int32_t i = 0; i < count; i++) {
        memcpy(replies[i], req, REQUEST);
        memcpy(replies[i] + REQUEST, &i, sizeof i);
        memset(&out[i].msg_hdr, 0, sizeof out[i].msg_hdr);
        out[i].msg_hdr.msg_iov = &out_iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
        out[i].msg_hdr.msg_name = name;
        out[i].msg_hdr.msg_namelen = namelen;
    }
    send_all(fd, out, count);
}

static int bulk; /* the mode: 0 echo, 1 bulk */

static void *serve(void *arg) {
    int fd = (int) (long) arg;
    static __thread char data[BATCH][SLOT];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage names[BATCH];
    if (bulk) {
        prepare_replies();
    }
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
        if (bulk) {
            for (int r = 0; r < n; r++) {
                answer(fd, data[r], msgs[r].msg_len, &names[r], msgs[r].msg_hdr.msg_namelen);
            }
        } else {
            /* echo: the received vectors go back as they are, each cut to the length received */
            for (int i = 0; i < n; i++) {
                iov[i].iov_len = msgs[i].msg_len;
            }
            send_all(fd, msgs, n);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[3], "bulk") == 0) {
        bulk = 1;
    } else if (argc != 3) {
        fprintf(stderr, "usage: echo_ref PORT THREADS [bulk]\n");
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
