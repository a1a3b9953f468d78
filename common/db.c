#include "db.h"

#include <stdio.h>
#include <time.h>

static long long ms_on(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long chat_now_ms(void)
{
	return ms_on(CLOCK_REALTIME);
}

long long chat_monotonic_ms(void)
{
	return ms_on(CLOCK_MONOTONIC);
}

static int exec_or_report(sqlite3 *db, const char *sql, char *err,
			  size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

int chat_db_open(const char *path, enum chat_db_mode mode,
		 const char *synchronous, int busy_ms, sqlite3 **out,
		 char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_NOMUTEX;
	char pragmas[160];
	sqlite3 *db = NULL;
	int rc;

	flags |= mode == CHAT_DB_READ_ONLY
			 ? SQLITE_OPEN_READONLY
			 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, busy_ms);
	sqlite3_extended_result_codes(db, 1);
	if (mode == CHAT_DB_READ_WRITE) {
		snprintf(pragmas, sizeof(pragmas),
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
			 " PRAGMA foreign_keys=ON;",
			 synchronous ? synchronous : "full");
		rc = exec_or_report(db, pragmas, err, errlen);
		if (rc != SQLITE_OK) {
			sqlite3_close(db);
			return rc;
		}
	}
	*out = db;
	return SQLITE_OK;
}

static int read_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int apply_migration(sqlite3 *db, const struct chat_migration *m,
			   char *err, size_t errlen)
{
	char bump[64];
	int current = 0;
	int rc = exec_or_report(db, "BEGIN IMMEDIATE", err, errlen);

	if (rc != SQLITE_OK)
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	rc = read_user_version(db, &current);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "cannot read schema version: %s",
			 sqlite3_errmsg(db));
	if (rc == SQLITE_OK && current >= m->version)
		return exec_or_report(db, "COMMIT", err, errlen);
	if (rc == SQLITE_OK)
		rc = exec_or_report(db, m->sql, err, errlen);
	if (rc == SQLITE_OK) {
		snprintf(bump, sizeof(bump), "PRAGMA user_version=%d",
			 m->version);
		rc = exec_or_report(db, bump, err, errlen);
	}
	if (rc == SQLITE_OK)
		return exec_or_report(db, "COMMIT", err, errlen);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int chat_db_migrate(sqlite3 *db, char *err, size_t errlen)
{
	int version = 0, rc = read_user_version(db, &version);

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot read schema version: %s",
			 sqlite3_errstr(rc));
		return rc;
	}
	if (version > chat_db_schema_version()) {
		snprintf(err, errlen,
			 "database schema %d is newer than this program (%d)",
			 version, chat_db_schema_version());
		return SQLITE_MISMATCH;
	}
	for (int i = 0; i < chat_migration_count; i++) {
		const struct chat_migration *m = &chat_migrations[i];

		if (m->version <= version)
			continue;
		rc = apply_migration(db, m, err, errlen);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

int chat_db_schema_version(void)
{
	int newest = 0;

	for (int i = 0; i < chat_migration_count; i++)
		if (chat_migrations[i].version > newest)
			newest = chat_migrations[i].version;
	return newest;
}
