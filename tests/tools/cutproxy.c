/*
 * tests/tools/cutproxy: a TCP proxy on 127.0.0.1 that breaks the
 * response stream at given byte offsets, for tests of the HTTP source.
 *
 *	cutproxy [-c OFF]... [-R OFF]... [-s OFF]... [-r SEED:COUNT:MAX]
 *	    PORT
 *
 * It forwards a free port (printed on stdout as the first line, so the
 * test needs no sleep) to 127.0.0.1:PORT. Offsets count the bytes sent
 * from the server to the clients, across all connections, in the order
 * they are forwarded; HTTP headers count too. When the count reaches an
 * offset (after forwarding exactly that many bytes), the connection
 * that carries it is closed (-c), reset (-R: RST), or stalled (-s: no
 * byte more in either direction, but kept open until the client goes).
 * -r adds COUNT close offsets drawn from 1..MAX with a seeded xorshift.
 * Each event prints "cut OFF", "reset OFF" or "stall OFF" on stdout.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXCONN		64
#define MAXEV		1024
#define BUFSZ		16384

enum action { CUT, RESET, STALL };

struct event {
	uint64_t	off;
	enum action	what;
};

struct conn {
	int		cfd, ufd;	/* client, upstream; -1: closed */
	int		stalled;
	char		up[BUFSZ], down[BUFSZ];
	size_t		uplen, upoff, downlen, downoff;
};

static struct event ev[MAXEV];
static size_t nev, next;
static uint64_t sent;			/* server-to-client bytes forwarded */
static struct conn conns[MAXCONN];

static void
add(uint64_t off, enum action what)
{
	if (nev == MAXEV || off == 0) {
		fprintf(stderr, "cutproxy: bad or too many offsets\n");
		exit(2);
	}
	ev[nev].off = off;
	ev[nev++].what = what;
}

static int
by_off(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void
random_cuts(const char *arg)
{
	unsigned long long seed, count, max, i;
	uint64_t x;

	if (sscanf(arg, "%llu:%llu:%llu", &seed, &count, &max) != 3 ||
	    max == 0) {
		fprintf(stderr, "cutproxy: -r SEED:COUNT:MAX\n");
		exit(2);
	}
	x = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (i = 0; i < count; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		add(1 + x % max, CUT);
	}
}

static void
drop(struct conn *c, int rst)
{
	struct linger l = { 1, 0 };

	if (rst)
		setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c->cfd);
	if (c->ufd != -1)
		close(c->ufd);
	memset(c, 0, sizeof(*c));
	c->cfd = c->ufd = -1;
}

static int
dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, sz = 65536;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* A small window: the server runs little ahead of a cut. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
listen_any(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) == -1) {
		perror("cutproxy: listen");
		exit(1);
	}
	printf("%d\n", ntohs(a.sin_port));
	return fd;
}

static void
accept_one(int lfd, int port)
{
	struct conn *c = NULL;
	size_t i;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	for (i = 0; i < MAXCONN && c == NULL; i++)
		if (conns[i].cfd == -1)
			c = &conns[i];
	if (c == NULL) {
		close(fd);
		return;
	}
	c->cfd = fd;
	if ((c->ufd = dial(port)) == -1)
		drop(c, 0);
}

/* The server sent bytes that reached an offset: act on their conn. */
static int
act(struct conn *c)
{
	static const char *const names[] = { "cut", "reset", "stall" };
	enum action what = ev[next].what;

	printf("%s %llu\n", names[what], (unsigned long long)ev[next].off);
	while (next < nev && ev[next].off <= sent)
		next++;
	if (what == STALL) {
		c->stalled = 1;
		return 0;
	}
	drop(c, what == RESET);
	return -1;
}

/* Moves what poll said is ready; -1 when the conn is gone. */
static int
step(struct conn *c, short crev, short urev)
{
	uint64_t room;
	ssize_t n;

	if (c->stalled) {
		/* Only notice the client leaving. */
		if ((crev & (POLLIN | POLLHUP | POLLERR)) &&
		    read(c->cfd, c->up, sizeof(c->up)) <= 0) {
			drop(c, 0);
			return -1;
		}
		return 0;
	}
	if ((crev & (POLLIN | POLLHUP | POLLERR)) && c->uplen == 0) {
		if ((n = read(c->cfd, c->up, sizeof(c->up))) <= 0)
			goto gone;
		c->uplen = (size_t)n;
		c->upoff = 0;
	}
	if ((urev & POLLOUT) && c->uplen > 0) {
		if ((n = write(c->ufd, c->up + c->upoff, c->uplen -
		    c->upoff)) <= 0)
			goto gone;
		if ((c->upoff += (size_t)n) == c->uplen)
			c->uplen = 0;
	}
	if ((urev & (POLLIN | POLLHUP | POLLERR)) && c->downlen == 0) {
		room = sizeof(c->down);
		if (next < nev && ev[next].off - sent < room)
			room = ev[next].off - sent;
		if ((n = read(c->ufd, c->down, (size_t)room)) <= 0)
			goto gone;
		c->downlen = (size_t)n;
		c->downoff = 0;
	}
	if ((crev & POLLOUT) && c->downlen > 0) {
		if ((n = write(c->cfd, c->down + c->downoff, c->downlen -
		    c->downoff)) <= 0)
			goto gone;
		sent += (uint64_t)n;
		if ((c->downoff += (size_t)n) == c->downlen)
			c->downlen = 0;
		if (next < nev && sent >= ev[next].off)
			return act(c);
	}
	return 0;
gone:
	drop(c, 0);
	return -1;
}

static void
loop(int lfd, int port)
{
	struct pollfd p[1 + 2 * MAXCONN];
	struct conn *c;
	size_t i, k;

	for (;;) {
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0; i < MAXCONN; i++) {
			c = &conns[i];
			k = 1 + 2 * i;
			p[k] = (struct pollfd){ .fd = c->cfd };
			p[k + 1] = (struct pollfd){ .fd = c->stalled ? -1 :
			    c->ufd };
			if (c->cfd == -1)
				continue;
			p[k].events = (short)((c->uplen == 0 ? POLLIN : 0) |
			    (c->downlen > 0 ? POLLOUT : 0));
			p[k + 1].events = (short)((c->downlen == 0 ? POLLIN :
			    0) | (c->uplen > 0 ? POLLOUT : 0));
			if (c->stalled)
				p[k].events = POLLIN;
		}
		if (poll(p, 1 + 2 * MAXCONN, -1) == -1) {
			if (errno == EINTR)
				continue;
			perror("cutproxy: poll");
			exit(1);
		}
		for (i = 0; i < MAXCONN; i++)
			if (conns[i].cfd != -1)
				step(&conns[i], p[1 + 2 * i].revents,
				    p[2 + 2 * i].revents);
		if (p[0].revents & POLLIN)
			accept_one(lfd, port);
	}
}

int
main(int argc, char **argv)
{
	size_t i;
	int c, lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "c:R:s:r:")) != -1) {
		switch (c) {
		case 'c': add(strtoull(optarg, NULL, 0), CUT); break;
		case 'R': add(strtoull(optarg, NULL, 0), RESET); break;
		case 's': add(strtoull(optarg, NULL, 0), STALL); break;
		case 'r': random_cuts(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 1)
		return 2;
	qsort(ev, nev, sizeof(ev[0]), by_off);
	for (i = 0; i < MAXCONN; i++)
		conns[i].cfd = conns[i].ufd = -1;
	lfd = listen_any();
	loop(lfd, atoi(argv[optind]));
	return 0;
}
