/*
 * WAL checkpoints under steady writing: the log must start over now and
 * then instead of growing by every page written, and nothing written may
 * be lost on the way. Real SQLite on a file in a temporary folder.
 */
#include "bridge/checkpoints.h"
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define ROW_BYTES 4000
#define ROWS_PER_COMMIT 16
/* Rows are rewritten in this many slots: the log sees every byte, the
 * database file stays small. */
#define SLOTS 512
#define WRITE_BYTES (128LL << 20)
#define CHECKPOINT_EVERY_MS 25

struct folder {
	char dir[64];
	char db[96];
	char wal[100];
};

static void folder_make(struct folder *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_checkpoints_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/chat.db", f->dir);
	snprintf(f->wal, sizeof(f->wal), "%s-wal", f->db);
}

static void folder_remove(struct folder *f)
{
	char path[128];

	snprintf(path, sizeof(path), "%s-shm", f->db);
	unlink(path);
	unlink(f->wal);
	unlink(f->db);
	rmdir(f->dir);
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Writes ROWS_PER_COMMIT rows and counts the commit, in one transaction. */
static void commit_rows(sqlite3 *db, sqlite3_stmt *write, long long *rows)
{
	exec_ok(db, "BEGIN");
	for (int i = 0; i < ROWS_PER_COMMIT; i++) {
		sqlite3_bind_int64(write, 1, (*rows)++ % SLOTS);
		assert_int_equal(sqlite3_step(write), SQLITE_DONE);
		sqlite3_reset(write);
	}
	exec_ok(db, "UPDATE commits SET n = n + 1");
	exec_ok(db, "COMMIT");
}

static long long integer_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *query;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &query, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(query), SQLITE_ROW);
	n = sqlite3_column_int64(query, 0);
	sqlite3_finalize(query);
	return n;
}

/* A writer that never pauses, as the bridge's is at full speed, and a
 * checkpoint thread beside it: the log stays a fraction of what went
 * through it. Without the writer's part the log grows to about all of it
 * (the thread alone never catches up with a writer that keeps adding). */
static void the_log_starts_over_under_steady_writing(void **state)
{
	struct bridge_checkpoints checkpoints;
	struct folder f;
	sqlite3 *db = NULL;
	sqlite3_stmt *write;
	char err[256];
	long long written = 0, commits = 0, rows = 0, largest_log = 0;

	(void)state;
	folder_make(&f);
	assert_int_equal(chat_db_open(f.db, CHAT_DB_READ_WRITE, "off", 1000,
				      &db, err, sizeof(err)),
			 SQLITE_OK);
	exec_ok(db, "CREATE TABLE rows (slot INTEGER PRIMARY KEY, "
		    "data BLOB NOT NULL);"
		    "CREATE TABLE commits (n INTEGER NOT NULL);"
		    "INSERT INTO commits VALUES (0)");
	assert_int_equal(bridge_checkpoints_start(&checkpoints, f.db, "off",
						  CHECKPOINT_EVERY_MS),
			 0);
	bridge_checkpoints_attach_writer(&checkpoints, db);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT OR REPLACE INTO rows "
					    "VALUES (?, randomblob(4000))",
					    -1, &write, NULL),
			 SQLITE_OK);
	while (written < WRITE_BYTES) {
		long long log = file_size(f.wal);

		commit_rows(db, write, &rows);
		commits++;
		written += ROW_BYTES * ROWS_PER_COMMIT;
		if (log > largest_log)
			largest_log = log;
	}
	sqlite3_finalize(write);
	print_message("wrote %lld MiB in %lld commits; the log reached "
		      "%lld MiB at most\n",
		      written >> 20, commits, largest_log >> 20);
	assert_true(largest_log < WRITE_BYTES / 2);
	sqlite3_close(db);
	bridge_checkpoints_stop(&checkpoints);
	/* Reopened after the last checkpoint: every commit is there. */
	assert_int_equal(chat_db_open(f.db, CHAT_DB_READ_WRITE, "off", 1000,
				      &db, err, sizeof(err)),
			 SQLITE_OK);
	assert_int_equal(integer_of(db, "SELECT n FROM commits"), commits);
	assert_int_equal(integer_of(db, "SELECT count(*) FROM rows"), SLOTS);
	sqlite3_close(db);
	folder_remove(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_log_starts_over_under_steady_writing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
