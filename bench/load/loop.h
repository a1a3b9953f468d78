/*
 * One thread, one epoll set, every connection of the generator. A turn of
 * the loop waits for readiness, reads each ready socket once (level
 * triggered: a socket with more data is simply reported again), lets the
 * scenario react, then writes every connection that has output in one send
 * each. Acknowledgements and new publishes of a turn thus share a write.
 */
#ifndef LOAD_LOOP_H
#define LOAD_LOOP_H

#include <stdbool.h>
#include <stddef.h>

struct load_conn;

struct load_loop {
	int epoll_fd;
	long long now_ns;       /* CLOCK_MONOTONIC after the last wait */
	unsigned char *scratch; /* receive buffer shared by all sockets */
	size_t scratch_size;
	struct load_conn **to_flush;
	size_t flush_count, flush_cap;
	int lost; /* connections closed that were not being closed */
	/* A turn waits for more data to arrive until it is this old, so that
	 * one read or write carries several packets (0: react at once). */
	long long min_turn_ns;
	long long turn_start_ns;
};

int load_loop_init(struct load_loop *l);
void load_loop_free(struct load_loop *l);

/* Monotonic nanoseconds. */
long long load_now_ns(void);

/* Adds a connection's socket for reading (and writing while connecting). */
int load_loop_watch(struct load_loop *l, struct load_conn *c);

/* Arms or disarms write readiness for a connection with unsent output. */
int load_loop_want_write(struct load_loop *l, struct load_conn *c, bool on);

/* Remembers that c has output to send at the end of this turn. */
int load_loop_queue_flush(struct load_loop *l, struct load_conn *c);

/* Waits up to timeout_ms, handles what is ready, sends queued output.
 * Returns 0 or -1 when epoll fails. */
int load_loop_turn(struct load_loop *l, int timeout_ms);

#endif
