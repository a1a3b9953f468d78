#include "checkpoints.h"

#include "db.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A log this many frames long means something holds old snapshots. */
#define LONG_LOG_FRAMES 100000
/* Below this many frames (4 MiB of pages) the log is left to grow: starting
 * it over costs the writer a flush of the database file. */
#define RESTART_LOG_FRAMES 1000

/* True when every frame of the log, as the checkpoint saw it, is back in
 * the database. */
static bool checkpoint(sqlite3 *db, int mode)
{
	int frames = 0, copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, mode, &frames, &copied);

	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		bridge_warning("WAL checkpoint failed: %s", sqlite3_errmsg(db));
	else if (frames > LONG_LOG_FRAMES && copied < frames)
		bridge_warning("the WAL holds %d frames and only %d could be "
		               "copied back: a reader keeps an old snapshot",
		               frames, copied);
	return rc == SQLITE_OK && copied == frames &&
	       frames >= RESTART_LOG_FRAMES;
}

/* Runs after each commit of the writing connection, outside its
 * transaction but before the commit returns: the copy (a few frames and a
 * flush of the database file, about once a second under steady traffic)
 * delays that batch's announcement by as much. */
static int after_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct bridge_checkpoints *c = arg;

	(void)name;
	/* A short log here means it started over since the thread caught
	 * up: nothing is left to finish. */
	if (atomic_exchange(&c->caught_up, false) &&
	    frames >= RESTART_LOG_FRAMES)
		checkpoint(db, SQLITE_CHECKPOINT_PASSIVE);
	return SQLITE_OK;
}

void bridge_checkpoints_attach_writer(struct bridge_checkpoints *c,
                                      sqlite3 *db)
{
	sqlite3_wal_hook(db, after_commit, c);
}

/* The wait between checkpoints runs on CLOCK_MONOTONIC: a step back of the
 * wall clock must not hold the checkpoints (and let the WAL grow) for as
 * long as the step. */
static void init_monotonic_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Waits interval_ms, or less when asked to stop; true to go on. */
static bool wait_turn(struct bridge_checkpoints *c)
{
	struct timespec until;
	bool go_on;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += c->interval_ms / 1000;
	until.tv_nsec += (long)(c->interval_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->stop &&
	       pthread_cond_timedwait(&c->wake, &c->lock, &until) != ETIMEDOUT)
		;
	go_on = !c->stop;
	pthread_mutex_unlock(&c->lock);
	return go_on;
}

static void *run(void *arg)
{
	struct bridge_checkpoints *c = arg;
	char err[256];
	sqlite3 *db = NULL;

	if (chat_db_open(c->db_path, CHAT_DB_READ_WRITE, c->synchronous, 1000,
	                 &db, err, sizeof(err)) != SQLITE_OK) {
		bridge_error("no WAL checkpoints: %s", err);
		return NULL;
	}
	while (wait_turn(c))
		if (checkpoint(db, SQLITE_CHECKPOINT_PASSIVE))
			atomic_store(&c->caught_up, true);
	checkpoint(db, SQLITE_CHECKPOINT_TRUNCATE);
	sqlite3_close(db);
	return NULL;
}

int bridge_checkpoints_start(struct bridge_checkpoints *c, const char *db_path,
                             const char *synchronous, int interval_ms)
{
	memset(c, 0, sizeof(*c));
	atomic_init(&c->caught_up, false);
	snprintf(c->db_path, sizeof(c->db_path), "%s", db_path);
	snprintf(c->synchronous, sizeof(c->synchronous), "%s", synchronous);
	c->interval_ms = interval_ms;
	pthread_mutex_init(&c->lock, NULL);
	init_monotonic_cond(&c->wake);
	if (pthread_create(&c->thread, NULL, run, c) != 0) {
		bridge_error("cannot start the WAL checkpoint thread");
		return -1;
	}
	c->running = true;
	return 0;
}

void bridge_checkpoints_stop(struct bridge_checkpoints *c)
{
	if (!c->running)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->running = false;
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
}
