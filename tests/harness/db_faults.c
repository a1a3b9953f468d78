/*
 * The store in trouble: another process's connection holding SQLite's
 * write lock (as a backup or a long admin operation would), and a
 * checkpoint that empties the write-ahead log so that a test knows how
 * far the files will grow.
 */
#include "harness.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 10000

struct test_db_writer {
	sqlite3 *db;
};

static sqlite3 *open_writable(struct chat_server *srv)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(srv->db_path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		test_log("cannot open %s: %s", srv->db_path,
		         db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, test_timeout_ms(BUSY_TIMEOUT_MS));
	return db;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		test_log("%s: %s", sql, err ? err : sqlite3_errstr(rc));
	sqlite3_free(err);
	return rc == SQLITE_OK ? 0 : -1;
}

struct test_db_writer *test_db_hold_write_lock(struct chat_server *srv)
{
	struct test_db_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->db = open_writable(srv);
	/* IMMEDIATE takes the write lock at once, before any write. */
	if (w->db == NULL || exec_sql(w->db, "BEGIN IMMEDIATE") != 0) {
		test_db_release_write_lock(w);
		return NULL;
	}
	return w;
}

void test_db_release_write_lock(struct test_db_writer *w)
{
	if (w == NULL)
		return;
	if (w->db && !sqlite3_get_autocommit(w->db))
		exec_sql(w->db, "ROLLBACK");
	sqlite3_close(w->db);
	free(w);
}

int test_db_checkpoint_truncate(struct chat_server *srv)
{
	sqlite3 *db = open_writable(srv);
	int log_frames = -1, done = -1, rc;

	if (db == NULL)
		return -1;
	rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	                               &log_frames, &done);
	if (rc != SQLITE_OK)
		test_log("checkpoint of %s: %s", srv->db_path,
		         sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

long long test_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}
