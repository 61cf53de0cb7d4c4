/*
 * The io_uring C reference of the comparison: what the kernel gives an echo built on io_uring, by
 * raw syscalls (no liburing). One thread, ring and SO_REUSEPORT socket per THREADS; per socket one
 * multishot IORING_OP_RECVMSG over a provided buffer ring, each datagram echoed by an
 * IORING_OP_SENDMSG straight from the buffer it arrived in, the buffer handed back to the ring when
 * that send completes. One io_uring_enter per loop turn: submit what the last turn queued and wait
 * for at least one completion. Compiled by the comparison runner with gcc -O2.
 *
 *   echo_uring PORT THREADS     prints "ready" once every ring is armed; runs until stdin closes,
 *                               then prints one line of counters to stderr
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_THREADS 64
#define SLOT 2048                       /* payload room per buffer, as the recvmmsg reference */
#ifndef BUFS
#define BUFS 1024                       /* provided buffers per socket; a power of two (-DBUFS=8: see ENOBUFS at work) */
#endif
#define SQ_ENTRIES (2 * BUFS)           /* at most one send per buffer plus re-arms: never full */
#define CQ_ENTRIES (4 * BUFS)           /* a receive and a send completion per buffer, with room */
#define BGID 0
#define RECV_TAG UINT64_MAX             /* user_data of the multishot receive; sends carry their buffer id */

/* What the kernel writes at the start of each provided buffer: header, source address, payload. */
#define NAME_ROOM ((unsigned) sizeof(struct sockaddr_in))
#define HEAD_ROOM ((unsigned) sizeof(struct io_uring_recvmsg_out) + NAME_ROOM)
#define BUF_SIZE (HEAD_ROOM + SLOT)

struct ring {
    int fd;
    unsigned *sq_head, *sq_tail, sq_mask, sq_entries, sq_local;
    struct io_uring_sqe *sqes;
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
};

struct worker {
    int sock;
    struct ring r;
    struct io_uring_buf_ring *br;
    unsigned br_tail;                   /* ours until published to br->tail */
    char *pool;
    struct msghdr recv_msg;             /* template of the multishot receive: only the lengths matter */
    struct msghdr send_msg[BUFS];       /* one in-flight send per buffer at most */
    struct iovec send_iov[BUFS];
    /* counters, printed at exit */
    unsigned long turns, received, enobufs, rearms, send_errors, truncated;
};

static struct worker *workers[MAX_THREADS];
static pthread_barrier_t armed;

static void die(const char *what, int err) {
    fprintf(stderr, "echo_uring: %s: %s\n", what, strerror(err));
    exit(1);
}

static int open_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    int rcvbuf = 4 << 20; /* the same 4 MiB every server of the comparison asks for */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0
        || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
        die("socket", errno);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &a, sizeof a) != 0) {
        die("bind", errno);
    }
    return fd;
}

static int enter(struct ring *r, unsigned to_submit, unsigned min_complete, unsigned flags) {
    return (int) syscall(__NR_io_uring_enter, r->fd, to_submit, min_complete, flags, NULL, 0);
}

static void ring_setup(struct ring *r) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    /* task work (the receives) runs only inside our own io_uring_enter: no interrupts of the loop */
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = CQ_ENTRIES;
    int fd = (int) syscall(__NR_io_uring_setup, SQ_ENTRIES, &p);
    if (fd < 0 && errno == EINVAL) {
        /* a kernel before 6.1: no DEFER_TASKRUN, the next best thing */
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = CQ_ENTRIES;
        fd = (int) syscall(__NR_io_uring_setup, SQ_ENTRIES, &p);
    }
    if (fd < 0) {
        die("io_uring_setup", errno);
    }
    r->fd = fd;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single && cq_len > sq_len) {
        sq_len = cq_len;
    }
    char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) {
        die("mmap SQ ring", errno);
    }
    char *cq = sq;
    if (!single) {
        cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
        if (cq == MAP_FAILED) {
            die("mmap CQ ring", errno);
        }
    }
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   fd, IORING_OFF_SQES);
    if (r->sqes == MAP_FAILED) {
        die("mmap SQEs", errno);
    }
    r->sq_head = (unsigned *) (sq + p.sq_off.head);
    r->sq_tail = (unsigned *) (sq + p.sq_off.tail);
    r->sq_mask = *(unsigned *) (sq + p.sq_off.ring_mask);
    r->sq_entries = p.sq_entries;
    r->sq_local = *r->sq_tail;
    /* SQE slot i is always array entry i: filled once, never touched again */
    unsigned *array = (unsigned *) (sq + p.sq_off.array);
    for (unsigned i = 0; i < p.sq_entries; i++) {
        array[i] = i;
    }
    r->cq_head = (unsigned *) (cq + p.cq_off.head);
    r->cq_tail = (unsigned *) (cq + p.cq_off.tail);
    r->cq_mask = *(unsigned *) (cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *) (cq + p.cq_off.cqes);
}

static unsigned pending(struct ring *r) {
    return r->sq_local - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
}

static void publish_sq(struct ring *r) {
    __atomic_store_n(r->sq_tail, r->sq_local, __ATOMIC_RELEASE);
}

static struct io_uring_sqe *next_sqe(struct ring *r) {
    if (pending(r) == r->sq_entries) {
        /* cannot happen with SQ_ENTRIES >= BUFS + 1; submitting early keeps it correct anyway */
        publish_sq(r);
        if (enter(r, r->sq_entries, 0, 0) < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
            die("io_uring_enter (flush)", errno);
        }
    }
    struct io_uring_sqe *sqe = &r->sqes[r->sq_local & r->sq_mask];
    r->sq_local++;
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

static void give_back(struct worker *w, unsigned short bid) {
    struct io_uring_buf *b = &w->br->bufs[w->br_tail & (BUFS - 1)];
    /* the ring's tail lives in bufs[0].resv: write the three fields, never the whole entry */
    b->addr = (uint64_t) (uintptr_t) (w->pool + (size_t) bid * BUF_SIZE);
    b->len = BUF_SIZE;
    b->bid = bid;
    w->br_tail++;
}

static void buffers_setup(struct worker *w) {
    size_t ring_len = BUFS * sizeof(struct io_uring_buf);
    w->br = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    w->pool = mmap(NULL, (size_t) BUFS * BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (w->br == MAP_FAILED || w->pool == MAP_FAILED) {
        die("mmap buffers", errno);
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t) (uintptr_t) w->br;
    reg.ring_entries = BUFS;
    reg.bgid = BGID;
    if (syscall(__NR_io_uring_register, w->r.fd, IORING_REGISTER_PBUF_RING, &reg, 1) != 0) {
        die("IORING_REGISTER_PBUF_RING (needs Linux 5.19)", errno);
    }
    w->br_tail = 0;
    for (unsigned i = 0; i < BUFS; i++) {
        give_back(w, (unsigned short) i);
    }
    __atomic_store_n(&w->br->tail, (unsigned short) w->br_tail, __ATOMIC_RELEASE);
}

static void arm_receive(struct worker *w) {
    struct io_uring_sqe *sqe = next_sqe(&w->r);
    sqe->opcode = IORING_OP_RECVMSG;
    sqe->fd = w->sock;
    sqe->addr = (uint64_t) (uintptr_t) &w->recv_msg;
    sqe->len = 1;
    sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    sqe->user_data = RECV_TAG;
    w->rearms++;
}

static void on_receive(struct worker *w, struct io_uring_cqe *cqe) {
    if (cqe->res < 0) {
        /* -ENOBUFS: every buffer is out in a send; the sends of this turn give some back */
        if (cqe->res == -ENOBUFS) {
            w->enobufs++;
        } else {
            die("multishot recvmsg", -cqe->res);
        }
    } else if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned short bid = (unsigned short) (cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        char *buf = w->pool + (size_t) bid * BUF_SIZE;
        struct io_uring_recvmsg_out *out = (struct io_uring_recvmsg_out *) buf;
        if ((unsigned) cqe->res < HEAD_ROOM) {
            give_back(w, bid); /* not even a header: nothing to answer */
        } else {
            /* the payload bytes actually in the buffer: what a too-long datagram was cut to, as recvmmsg would */
            unsigned len = (unsigned) cqe->res - HEAD_ROOM;
            if (out->flags & MSG_TRUNC) {
                w->truncated++;
            }
            struct msghdr *m = &w->send_msg[bid];
            w->send_iov[bid].iov_base = buf + HEAD_ROOM;
            w->send_iov[bid].iov_len = len;
            m->msg_name = buf + sizeof *out;
            m->msg_namelen = out->namelen < NAME_ROOM ? out->namelen : NAME_ROOM;
            m->msg_iov = &w->send_iov[bid];
            m->msg_iovlen = 1;
            struct io_uring_sqe *sqe = next_sqe(&w->r);
            sqe->opcode = IORING_OP_SENDMSG;
            sqe->fd = w->sock;
            sqe->addr = (uint64_t) (uintptr_t) m;
            sqe->len = 1;
            sqe->user_data = bid;
            w->received++;
        }
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        arm_receive(w); /* the kernel ended the multishot (no buffer, full CQ, ...): ask again */
    }
}

static void *serve(void *arg) {
    struct worker *w = arg;
    struct ring *r = &w->r;
    ring_setup(r); /* in this thread: SINGLE_ISSUER binds the ring to the task that creates it */
    buffers_setup(w);
    w->recv_msg.msg_namelen = NAME_ROOM;
    arm_receive(w);
    w->rearms = 0;
    publish_sq(r);
    if (enter(r, pending(r), 0, 0) < 0) {
        die("io_uring_enter (arm)", errno);
    }
    pthread_barrier_wait(&armed);
    unsigned short published = (unsigned short) w->br_tail;
    for (;;) {
        if ((unsigned short) w->br_tail != published) {
            published = (unsigned short) w->br_tail;
            __atomic_store_n(&w->br->tail, published, __ATOMIC_RELEASE);
        }
        publish_sq(r);
        if (enter(r, pending(r), 1, IORING_ENTER_GETEVENTS) < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY
            && errno != ETIME) {
            die("io_uring_enter", errno);
        }
        w->turns++;
        unsigned head = *r->cq_head;
        unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
        for (; head != tail; head++) {
            struct io_uring_cqe *cqe = &r->cqes[head & r->cq_mask];
            if (cqe->user_data == RECV_TAG) {
                on_receive(w, cqe);
            } else {
                if (cqe->res < 0) {
                    w->send_errors++; /* UDP: the datagram is dropped, as sendmmsg's would be */
                }
                give_back(w, (unsigned short) cqe->user_data);
            }
        }
        __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: echo_uring PORT THREADS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int threads = atoi(argv[2]);
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "echo_uring: THREADS must be 1..%d\n", MAX_THREADS);
        return 2;
    }
    for (int t = 0; t < threads; t++) {
        workers[t] = calloc(1, sizeof(struct worker));
        if (workers[t] == NULL) {
            die("calloc", errno);
        }
        workers[t]->sock = open_socket(port);
    }
    pthread_barrier_init(&armed, NULL, (unsigned) threads + 1);
    for (int t = 0; t < threads; t++) {
        pthread_t th;
        int err = pthread_create(&th, NULL, serve, workers[t]);
        if (err != 0) {
            die("pthread_create", err);
        }
        pthread_detach(th);
    }
    pthread_barrier_wait(&armed);
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    unsigned long turns = 0, received = 0, enobufs = 0, rearms = 0, send_errors = 0, truncated = 0;
    for (int t = 0; t < threads; t++) {
        turns += __atomic_load_n(&workers[t]->turns, __ATOMIC_RELAXED);
        received += __atomic_load_n(&workers[t]->received, __ATOMIC_RELAXED);
        enobufs += __atomic_load_n(&workers[t]->enobufs, __ATOMIC_RELAXED);
        rearms += __atomic_load_n(&workers[t]->rearms, __ATOMIC_RELAXED);
        send_errors += __atomic_load_n(&workers[t]->send_errors, __ATOMIC_RELAXED);
        truncated += __atomic_load_n(&workers[t]->truncated, __ATOMIC_RELAXED);
    }
    fprintf(stderr, "echo_uring: %lu datagrams in %lu turns (%.1f a turn), %lu re-arms (%lu on ENOBUFS), "
            "%lu send errors, %lu truncated\n", received, turns, turns ? (double) received / turns : 0.0, rearms,
            enobufs, send_errors, truncated);
    return 0;
}
