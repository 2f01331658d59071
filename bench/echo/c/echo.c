/*
 * echo.c: the C reference TCP echo server for the ioloop benchmarks, the
 * practical ceiling a Go event loop is measured against.
 *
 * One thread, one level-triggered epoll instance, non-blocking sockets.
 * Readable connections are read into one shared 64 KiB buffer and the bytes
 * are written straight back. Only what the kernel does not take is copied
 * into a per-connection pending buffer; while a connection has pending
 * output it is watched for EPOLLOUT instead of EPOLLIN, so a client that
 * does not read cannot make the server buffer without bound. An idle
 * connection holds no buffer.
 *
 * Usage: echo -addr 127.0.0.1:7000 [-loops N]
 * (-loops is accepted for a uniform command line and ignored.) Prints
 * "echo listening on ADDR" once listening; runs until SIGINT or SIGTERM.
 *
 * Build: gcc -O2 -o echo-c echo.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF (64 * 1024)
#define MAX_EVENTS 1024

struct conn {
	char *pend;   /* unsent bytes, NULL when none */
	size_t len;   /* bytes in pend */
	size_t off;   /* bytes of pend already sent */
};

static struct conn *conns;
static int nconns;
static char rbuf[READ_BUF];
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *what) {
	perror(what);
	exit(1);
}

static struct conn *conn_of(int fd) {
	if (fd >= nconns) {
		int n = nconns ? nconns : 1024;
		while (n <= fd) n *= 2;
		struct conn *c = realloc(conns, (size_t)n * sizeof *c);
		if (!c) die("realloc");
		memset(c + nconns, 0, (size_t)(n - nconns) * sizeof *c);
		conns = c;
		nconns = n;
	}
	return &conns[fd];
}

static void conn_close(int ep, int fd) {
	struct conn *c = conn_of(fd);
	free(c->pend);
	c->pend = NULL;
	c->len = c->off = 0;
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

static int watch(int ep, int op, int fd, unsigned events) {
	struct epoll_event ev = {.events = events, .data.fd = fd};
	return epoll_ctl(ep, op, fd, &ev);
}

/* Writes p[0:n] to fd; keeps what the kernel refuses. Returns -1 on error. */
static int send_or_keep(int ep, int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR) continue;
		if (w < 0 && errno == EAGAIN) break;
		return -1;
	}
	if (n == 0) return 0;
	struct conn *c = conn_of(fd);
	c->pend = malloc(n);
	if (!c->pend) return -1;
	memcpy(c->pend, p, n);
	c->len = n;
	c->off = 0;
	return watch(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
}

static void on_readable(int ep, int fd) {
	/* Bounded: at most 16 reads per wake-up so no connection starves others. */
	for (int i = 0; i < 16; i++) {
		ssize_t r = read(fd, rbuf, sizeof rbuf);
		if (r > 0) {
			if (send_or_keep(ep, fd, rbuf, (size_t)r) < 0) {
				conn_close(ep, fd);
				return;
			}
			if (conn_of(fd)->pend) return; /* wait for EPOLLOUT */
			if ((size_t)r < sizeof rbuf) return;
			continue;
		}
		if (r < 0 && errno == EINTR) continue;
		if (r < 0 && errno == EAGAIN) return;
		conn_close(ep, fd); /* EOF or error */
		return;
	}
}

static void on_writable(int ep, int fd) {
	struct conn *c = conn_of(fd);
	while (c->off < c->len) {
		ssize_t w = write(fd, c->pend + c->off, c->len - c->off);
		if (w > 0) {
			c->off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR) continue;
		if (w < 0 && errno == EAGAIN) return;
		conn_close(ep, fd);
		return;
	}
	free(c->pend);
	c->pend = NULL;
	c->len = c->off = 0;
	if (watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN) < 0) conn_close(ep, fd);
}

int main(int argc, char **argv) {
	const char *addr = "127.0.0.1:7000";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-') a++;
		if (strcmp(a, "-addr") == 0 && i + 1 < argc) addr = argv[++i];
		else if (strcmp(a, "-loops") == 0 && i + 1 < argc) i++;
		else {
			fprintf(stderr, "usage: %s -addr HOST:PORT [-loops N]\n", argv[0]);
			return 2;
		}
	}
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof host) {
		fprintf(stderr, "echo: bad -addr %s\n", addr);
		return 2;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "echo: bad host %s\n", host);
		return 2;
	}

	struct sigaction sact = {.sa_handler = on_signal};
	sigaction(SIGINT, &sact, NULL);
	sigaction(SIGTERM, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);

	int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ln < 0) die("socket");
	int one = 1;
	setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ln, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
	if (listen(ln, 4096) < 0) die("listen");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) die("epoll_create1");
	if (watch(ep, EPOLL_CTL_ADD, ln, EPOLLIN) < 0) die("epoll_ctl");
	printf("echo listening on %s\n", addr);
	fflush(stdout);

	struct epoll_event evs[MAX_EVENTS];
	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR) continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ln) {
				/* At most 128 accepts per wake-up. */
				for (int k = 0; k < 128; k++) {
					int c = accept4(ln, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0) break; /* EAGAIN; on EMFILE the level-triggered listener retries at once */
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					conn_of(c);
					if (watch(ep, EPOLL_CTL_ADD, c, EPOLLIN) < 0) close(c);
				}
				continue;
			}
			if (evs[i].events & EPOLLOUT) on_writable(ep, fd);
			else on_readable(ep, fd);
		}
	}
	return 0;
}
