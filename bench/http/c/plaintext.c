/*
 * plaintext.c: the C reference HTTP plaintext responder for the ioloop
 * benchmarks, the practical ceiling an HTTP server is measured against.
 *
 * One thread, one level-triggered epoll instance, non-blocking sockets,
 * no HTTP parser: like the minimal scanners of the Go peers it treats
 * everything up to each "\r\n\r\n" as one request and answers every
 * complete request head in a read with one copy of a fixed "200 OK"
 * plaintext response (Server, Date, Content-Type, Content-Length,
 * "Hello, World!"), in order, in one write (pipelining aware). The Date
 * line is rebuilt when the second changes (checked once per epoll wake-up).
 * Reads go into one shared 64 KiB buffer; only an incomplete request head
 * (at most 8 KiB, else the connection is closed) and output the kernel
 * refuses are copied into per-connection buffers, so an idle connection
 * holds no buffer. While a connection has pending output it is watched for
 * EPOLLOUT instead of EPOLLIN.
 *
 * Usage: plaintext -addr 127.0.0.1:8080 [-loops N]
 * (-loops is accepted for a uniform command line and ignored: one thread.)
 * Prints "http listening on ADDR" once listening; runs until SIGINT or
 * SIGTERM.
 *
 * Build: gcc -O2 -o http-c plaintext.c
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
#include <time.h>
#include <unistd.h>

#define READ_BUF (64 * 1024)
#define MAX_HEAD (8 * 1024)
#define MAX_EVENTS 1024
#define BODY "Hello, World!"

struct conn {
	char *head;   /* incomplete request head carried over, NULL when none */
	size_t hlen;  /* bytes in head */
	char *pend;   /* unsent output, NULL when none */
	size_t len;   /* bytes in pend */
	size_t off;   /* bytes of pend already sent */
};

static struct conn *conns;
static int nconns;
static char rbuf[READ_BUF];
static char *obuf;          /* output of one read: up to READ_BUF/4 responses */
static size_t ocap;
static char resp[256];      /* the current response */
static size_t resp_len;
static time_t resp_sec = -1;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *what) {
	perror(what);
	exit(1);
}

static void build_response(void) {
	time_t now = time(NULL);
	if (now == resp_sec) return;
	resp_sec = now;
	struct tm tm;
	gmtime_r(&now, &tm);
	char date[64];
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(resp, sizeof resp,
		"HTTP/1.1 200 OK\r\nServer: c\r\nDate: %s\r\nContent-Type: text/plain\r\n"
		"Content-Length: %d\r\n\r\n%s", date, (int)(sizeof BODY - 1), BODY);
	if (n < 0 || (size_t)n >= sizeof resp) die("snprintf");
	resp_len = (size_t)n;
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
	free(c->head);
	memset(c, 0, sizeof *c);
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

/* Counts the complete heads in p[0:n]; *used is set to the bytes they span. */
static size_t scan(const char *p, size_t n, size_t *used) {
	size_t count = 0, off = 0;
	while (n - off >= 4) {
		const char *e = memmem(p + off, n - off, "\r\n\r\n", 4);
		if (!e) break;
		off = (size_t)(e - p) + 4;
		count++;
	}
	*used = off;
	return count;
}

/* Answers the complete heads in p[0:n] and keeps the incomplete rest. */
static int serve(int ep, int fd, const char *p, size_t n) {
	struct conn *c = conn_of(fd);
	size_t used;
	size_t count = scan(p, n, &used);
	if (count > 0) {
		size_t need = count * resp_len;
		if (need > ocap) {
			char *b = realloc(obuf, need);
			if (!b) return -1;
			obuf = b;
			ocap = need;
		}
		for (size_t i = 0; i < count; i++) memcpy(obuf + i * resp_len, resp, resp_len);
		if (send_or_keep(ep, fd, obuf, need) < 0) return -1;
	}
	size_t rest = n - used;
	if (rest > MAX_HEAD) return -1;
	if (rest == 0) {
		free(c->head);
		c->head = NULL;
		c->hlen = 0;
		return 0;
	}
	char *h = malloc(rest);
	if (!h) return -1;
	memcpy(h, p + used, rest);
	free(c->head);
	c->head = h;
	c->hlen = rest;
	return 0;
}

static void on_readable(int ep, int fd) {
	/* Bounded: at most 16 reads per wake-up so no connection starves others. */
	for (int i = 0; i < 16; i++) {
		struct conn *c = conn_of(fd);
		size_t carried = c->hlen;
		if (carried) memcpy(rbuf, c->head, carried); /* carried <= MAX_HEAD */
		ssize_t r = read(fd, rbuf + carried, sizeof rbuf - carried);
		if (r > 0) {
			if (serve(ep, fd, rbuf, carried + (size_t)r) < 0) {
				conn_close(ep, fd);
				return;
			}
			if (conn_of(fd)->pend) return; /* wait for EPOLLOUT */
			if ((size_t)r < sizeof rbuf - carried) return;
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
	const char *addr = "127.0.0.1:8080";
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
		fprintf(stderr, "plaintext: bad -addr %s\n", addr);
		return 2;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "plaintext: bad host %s\n", host);
		return 2;
	}

	struct sigaction sact = {.sa_handler = on_signal};
	sigaction(SIGINT, &sact, NULL);
	sigaction(SIGTERM, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);
	build_response();

	int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ln < 0) die("socket");
	int one = 1;
	setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ln, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
	if (listen(ln, 4096) < 0) die("listen");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) die("epoll_create1");
	if (watch(ep, EPOLL_CTL_ADD, ln, EPOLLIN) < 0) die("epoll_ctl");
	printf("http listening on %s\n", addr);
	fflush(stdout);

	struct epoll_event evs[MAX_EVENTS];
	while (!stop) {
		/* Wake at least once a second so the Date line stays current. */
		int n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
		if (n < 0) {
			if (errno == EINTR) continue;
			die("epoll_wait");
		}
		build_response();
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
