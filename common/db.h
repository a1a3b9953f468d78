/*
 * Opening the SQLite store and bringing its schema up to date.
 *
 * The bridge is the only writer of messages; the admin CLI writes users,
 * devices and conversations; the plugin only reads. All of them open the
 * same file in WAL mode so readers never wait for the writer.
 */
#ifndef CHAT_DB_H
#define CHAT_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct chat_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct chat_migration chat_migrations[];
extern const int chat_migration_count;

enum chat_db_mode {
	CHAT_DB_READ_ONLY,  /* the plugin: never writes, never creates */
	CHAT_DB_READ_WRITE, /* the CLI and the bridge; creates the file */
};

/*
 * Opens path with a busy timeout of busy_ms. Read-write handles are switched
 * to WAL with the given synchronous level ("full", "normal" or "off").
 * Returns SQLITE_OK or an SQLite error code; err receives a message.
 */
int chat_db_open(const char *path, enum chat_db_mode mode,
		 const char *synchronous, int busy_ms, sqlite3 **out,
		 char *err, size_t errlen);

/* Applies every migration newer than the file's user_version, each in its
 * own transaction. Returns SQLITE_OK or an error code with a message. */
int chat_db_migrate(sqlite3 *db, char *err, size_t errlen);

/* The newest schema version this program knows. */
int chat_db_schema_version(void);

/* Current time in milliseconds since the Unix epoch: for times that are
 * stored or shown. */
long long chat_now_ms(void);

/* Milliseconds on CLOCK_MONOTONIC: for waits and intervals, which a step
 * of the wall clock must not stretch or cut. */
long long chat_monotonic_ms(void);

#endif
