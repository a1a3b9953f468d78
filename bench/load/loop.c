#include "loop.h"

#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_EVENTS       512
#define LOOP_SCRATCH_SIZE (256 * 1024)

int load_loop_init(struct load_loop *l)
{
	*l = (struct load_loop){0};
	l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	l->scratch = malloc(LOOP_SCRATCH_SIZE);
	l->scratch_size = LOOP_SCRATCH_SIZE;
	l->now_ns = load_now_ns();
	if (l->epoll_fd < 0 || l->scratch == NULL) {
		load_loop_free(l);
		return -1;
	}
	return 0;
}

void load_loop_free(struct load_loop *l)
{
	if (l->epoll_fd >= 0)
		close(l->epoll_fd);
	free(l->scratch);
	free(l->to_flush);
	*l = (struct load_loop){.epoll_fd = -1};
}

long long load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int load_loop_watch(struct load_loop *l, struct load_conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};

	c->write_armed = true;
	return epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev);
}

int load_loop_want_write(struct load_loop *l, struct load_conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

	if (c->write_armed == on)
		return 0;
	if (on)
		ev.events |= EPOLLOUT;
	c->write_armed = on;
	return epoll_ctl(l->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

int load_loop_queue_flush(struct load_loop *l, struct load_conn *c)
{
	struct load_conn **grown;

	if (c->flush_queued)
		return 0;
	if (l->flush_count == l->flush_cap) {
		size_t cap = l->flush_cap ? l->flush_cap * 2 : 256;

		grown = realloc(l->to_flush, cap * sizeof(*grown));
		if (grown == NULL)
			return -1;
		l->to_flush = grown;
		l->flush_cap = cap;
	}
	l->to_flush[l->flush_count++] = c;
	c->flush_queued = true;
	return 0;
}

static void flush_all(struct load_loop *l)
{
	/* A flush may close a connection but never queues another one. */
	for (size_t i = 0; i < l->flush_count; i++) {
		struct load_conn *c = l->to_flush[i];

		c->flush_queued = false;
		if (c->fd >= 0)
			load_conn_flush(c);
	}
	l->flush_count = 0;
}

static void handle_event(struct load_loop *l, const struct epoll_event *ev)
{
	struct load_conn *c = ev->data.ptr;

	if (c->fd >= 0 && (ev->events & EPOLLOUT))
		load_conn_on_writable(c);
	if (c->fd >= 0 && (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		load_conn_on_readable(c, l->scratch, l->scratch_size);
}

/* Lets packets gather while the turn is younger than min_turn_ns. */
static void pace(struct load_loop *l)
{
	long long left = l->turn_start_ns + l->min_turn_ns - load_now_ns();

	if (left > 0) {
		struct timespec ts = {0, left};

		nanosleep(&ts, NULL);
	}
}

int load_loop_turn(struct load_loop *l, int timeout_ms)
{
	struct epoll_event events[LOOP_EVENTS];
	int n;

	/* Output queued since the last turn (new publishes) goes first. */
	flush_all(l);
	if (l->min_turn_ns > 0)
		pace(l);
	l->turn_start_ns = load_now_ns();
	n = epoll_wait(l->epoll_fd, events, LOOP_EVENTS, timeout_ms);
	l->now_ns = load_now_ns();
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++)
		handle_event(l, &events[i]);
	flush_all(l);
	return 0;
}
