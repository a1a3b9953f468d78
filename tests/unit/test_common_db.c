/*
 * The store is opened by three processes at once and migrated by whichever
 * starts first, so opening and migrating must be repeatable and must leave
 * the schema the rest of the server relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store_dir {
	char dir[64];
	char path[96];
	char err[256];
};

static int make_store_dir(void **state)
{
	struct store_dir *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/chat-db-XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		free(s);
		return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s/chat.db", s->dir);
	*state = s;
	return 0;
}

static int remove_store_dir(void **state)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	struct store_dir *s = *state;
	char file[128];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", s->path, suffixes[i]);
		unlink(file);
	}
	rmdir(s->dir);
	free(s);
	return 0;
}

static sqlite3 *open_rw(struct store_dir *s)
{
	sqlite3 *db = NULL;

	assert_int_equal(chat_db_open(s->path, CHAT_DB_READ_WRITE, "full", 1000,
	                              &db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	assert_non_null(db);
	return db;
}

static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	long long value;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return value;
}

static void query_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *stmt;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	snprintf(out, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
}

static int run_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static long long table_count(sqlite3 *db)
{
	return query_int(db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = "
	                     "'table' AND name IN ('users', 'devices', "
	                     "'conversations', 'members', 'messages')");
}

static void test_schema_version_is_the_newest_migration(void **state)
{
	int newest = 0;

	(void)state;
	assert_true(chat_migration_count >= 1);
	for (int i = 0; i < chat_migration_count; i++) {
		assert_true(chat_migrations[i].version > newest);
		assert_non_null(chat_migrations[i].sql);
		newest = chat_migrations[i].version;
	}
	assert_int_equal(chat_db_schema_version(), newest);
}

static void test_migration_creates_every_table(void **state)
{
	struct store_dir *s = *state;
	sqlite3 *db = open_rw(s);

	assert_int_equal(query_int(db, "PRAGMA user_version"), 0);
	assert_int_equal(chat_db_migrate(db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"),
	                 chat_db_schema_version());
	assert_int_equal(table_count(db), 5);
	sqlite3_close(db);
}

static void test_migrating_twice_changes_nothing(void **state)
{
	struct store_dir *s = *state;
	sqlite3 *db = open_rw(s);
	long long objects;

	assert_int_equal(chat_db_migrate(db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	assert_int_equal(run_sql(db, "INSERT INTO users (id, created_at) "
	                             "VALUES ('alice', 1)"),
	                 SQLITE_OK);
	objects = query_int(db, "SELECT COUNT(*) FROM sqlite_schema");
	sqlite3_close(db);

	/* A second process starting later runs the same migration again. */
	db = open_rw(s);
	assert_int_equal(chat_db_migrate(db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"),
	                 chat_db_schema_version());
	assert_int_equal(query_int(db, "SELECT COUNT(*) FROM sqlite_schema"),
	                 objects);
	assert_int_equal(query_int(db, "SELECT COUNT(*) FROM users"), 1);
	sqlite3_close(db);
}

static void test_read_write_handle_uses_wal_and_foreign_keys(void **state)
{
	struct store_dir *s = *state;
	sqlite3 *db = open_rw(s);
	char mode[16];

	query_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
	sqlite3_close(db);
}

static void test_read_only_open_never_creates_the_file(void **state)
{
	struct store_dir *s = *state;
	sqlite3 *db = NULL;
	struct stat st;

	assert_int_not_equal(chat_db_open(s->path, CHAT_DB_READ_ONLY, NULL,
	                                  1000, &db, s->err, sizeof(s->err)),
	                     SQLITE_OK);
	assert_null(db);
	assert_non_null(strstr(s->err, s->path));
	assert_int_equal(stat(s->path, &st), -1);
}

static void test_read_only_handle_cannot_write(void **state)
{
	struct store_dir *s = *state;
	sqlite3 *db = open_rw(s);

	assert_int_equal(chat_db_migrate(db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	sqlite3_close(db);
	db = NULL;
	assert_int_equal(chat_db_open(s->path, CHAT_DB_READ_ONLY, NULL, 1000,
	                              &db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	assert_int_equal(query_int(db, "SELECT COUNT(*) FROM users"), 0);
	assert_int_equal(run_sql(db, "INSERT INTO users (id, created_at) "
	                             "VALUES ('mallory', 1)") &
	                     0xff,
	                 SQLITE_READONLY);
	sqlite3_close(db);
}

static void test_newer_schema_is_refused(void **state)
{
	struct store_dir *s = *state;
	sqlite3 *db = open_rw(s);
	char bump[64];

	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
	         chat_db_schema_version() + 1);
	assert_int_equal(run_sql(db, bump), SQLITE_OK);
	assert_int_not_equal(chat_db_migrate(db, s->err, sizeof(s->err)),
	                     SQLITE_OK);
	assert_non_null(strstr(s->err, "newer"));
	assert_int_equal(table_count(db), 0);
	sqlite3_close(db);
}

/* The constraints other components count on: one direct conversation per
 * pair, one message per (conversation, sender, cmid), known kinds only. */
static void test_schema_enforces_uniqueness_and_kinds(void **state)
{
	struct store_dir *s = *state;
	sqlite3 *db = open_rw(s);

	assert_int_equal(chat_db_migrate(db, s->err, sizeof(s->err)),
	                 SQLITE_OK);
	assert_int_equal(run_sql(db, "INSERT INTO conversations (id, kind, "
	                             "direct_key, created_at) VALUES "
	                             "('c1', 'direct', 'alice/bob', 1)"),
	                 SQLITE_OK);
	assert_int_equal(run_sql(db, "INSERT INTO conversations (id, kind, "
	                             "direct_key, created_at) VALUES "
	                             "('c2', 'direct', 'alice/bob', 1)") &
	                     0xff,
	                 SQLITE_CONSTRAINT);
	assert_int_equal(run_sql(db, "INSERT INTO messages (convo_id, seq, id, sender, cmid, ts, body) VALUES "
	                             "('c1', 1, 100, 'alice', 'm1', 1, 'hi')"),
	                 SQLITE_OK);
	assert_int_equal(run_sql(db, "INSERT INTO messages (convo_id, seq, id, sender, cmid, ts, body) VALUES "
	                             "('c1', 2, 101, 'alice', 'm1', 1, 'hi')") &
	                     0xff,
	                 SQLITE_CONSTRAINT);
	assert_int_equal(run_sql(db, "INSERT INTO users (id, kind, created_at) "
	                             "VALUES ('x', 'admin', 1)") &
	                     0xff,
	                 SQLITE_CONSTRAINT);
	/* Foreign keys: no device for a user who does not exist. */
	assert_int_equal(run_sql(db,
	                         "INSERT INTO devices (user_id, token_hash, "
	                         "created_at) VALUES ('ghost', x'00', 1)") &
	                     0xff,
	                 SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

static void test_now_is_milliseconds_since_the_epoch(void **state)
{
	/* time() reads a coarse clock that may lag the precise one by a
	 * few milliseconds: a second of slack on each side. */
	long long before = ((long long)time(NULL) - 1) * 1000;
	long long now = chat_now_ms();
	long long after = ((long long)time(NULL) + 2) * 1000;

	(void)state;
	assert_true(now >= before && now <= after);
}

#define STORE_TEST(fn)                                                         \
	cmocka_unit_test_setup_teardown(fn, make_store_dir, remove_store_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schema_version_is_the_newest_migration),
	    STORE_TEST(test_migration_creates_every_table),
	    STORE_TEST(test_migrating_twice_changes_nothing),
	    STORE_TEST(test_read_write_handle_uses_wal_and_foreign_keys),
	    STORE_TEST(test_read_only_open_never_creates_the_file),
	    STORE_TEST(test_read_only_handle_cannot_write),
	    STORE_TEST(test_newer_schema_is_refused),
	    STORE_TEST(test_schema_enforces_uniqueness_and_kinds),
	    cmocka_unit_test(test_now_is_milliseconds_since_the_epoch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
