/*
 * WAL checkpoints away from the commit path.
 *
 * SQLite normally copies the write-ahead log back into the database from
 * inside whichever commit crosses the threshold, flushing the database
 * file on the way: that commit, and every message waiting behind it,
 * then takes a hundred milliseconds or more. The bridge turns that off on
 * its writing connection and runs passive checkpoints from a thread of its
 * own with its own connection instead; a passive checkpoint never blocks
 * the writer.
 */
#ifndef BRIDGE_CHECKPOINTS_H
#define BRIDGE_CHECKPOINTS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

struct bridge_checkpoints {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool running;
	int interval_ms;
	char db_path[PATH_MAX];
	char synchronous[8];
};

/* Starts the thread; returns 0, or -1 (logged) when it could not. */
int bridge_checkpoints_start(struct bridge_checkpoints *c, const char *db_path,
                             const char *synchronous, int interval_ms);

/* Stops the thread after one last checkpoint that also empties the log
 * when nothing reads it. */
void bridge_checkpoints_stop(struct bridge_checkpoints *c);

#endif
