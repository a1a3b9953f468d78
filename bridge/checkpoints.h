/*
 * WAL checkpoints away from the commit path.
 *
 * SQLite normally copies the write-ahead log back into the database from
 * inside whichever commit crosses the threshold, flushing the database
 * file on the way: that commit, and every message waiting behind it,
 * then takes a hundred milliseconds or more. Once the thread runs, the
 * bridge replaces that on its writing connection with passive checkpoints
 * from the thread, with a connection of its own; a passive checkpoint
 * never blocks the writer.
 *
 * A passive checkpoint alone never shortens the log under steady traffic:
 * SQLite starts the log over only when a transaction begins with every
 * frame already copied back, and the writer always adds frames while the
 * thread copies. The log would grow by every page written (tens of
 * megabytes a second at full speed) until traffic paused, each new frame
 * costing the file system a fresh block. So after a passive checkpoint
 * the writer, at its next commit, copies back the few frames it added
 * meanwhile itself (before that commit returns); its next transaction then
 * starts the log over.
 */
#ifndef BRIDGE_CHECKPOINTS_H
#define BRIDGE_CHECKPOINTS_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

struct bridge_checkpoints {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool running;
	int interval_ms;
	/* Set by the thread when it copied back all it saw of a long log;
	 * cleared by the writer, which then finishes the job. */
	atomic_bool caught_up;
	char db_path[PATH_MAX];
	char synchronous[8];
};

/* Starts the thread; returns 0, or -1 (logged) when it could not. */
int bridge_checkpoints_start(struct bridge_checkpoints *c, const char *db_path,
                             const char *synchronous, int interval_ms);

/* Lets the writing connection finish what the thread copied back, so
 * that the log starts over (above). The hook stays until db is closed. */
void bridge_checkpoints_attach_writer(struct bridge_checkpoints *c,
                                      sqlite3 *db);

/* Stops the thread after one last checkpoint that also empties the log
 * when nothing reads it. */
void bridge_checkpoints_stop(struct bridge_checkpoints *c);

#endif
