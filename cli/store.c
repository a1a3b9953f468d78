#include "chatctl.h"

#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int read_schema_version(struct chatctl *ctl, int *version)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(ctl, "PRAGMA user_version");
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(stmt, 0);
	else
		chatctl_store_failed(ctl, "reading the schema version");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int open_read_write(struct chatctl *ctl)
{
	char err[256] = "";
	int rc = chat_db_open(ctl->opts.db_path, CHAT_DB_READ_WRITE,
	                      ctl->opts.synchronous, CHATCTL_BUSY_MS, &ctl->db,
	                      err, sizeof(err));

	if (rc != SQLITE_OK) {
		ctl->db = NULL;
		chatctl_error("%s", err);
		return -1;
	}
	return 0;
}

/* Commands other than init work only on a database that init has set up. */
static int require_current_schema(struct chatctl *ctl)
{
	int version = 0, known = chat_db_schema_version();

	if (read_schema_version(ctl, &version) != 0)
		return -1;
	if (version == known)
		return 0;
	if (version > known)
		chatctl_error("database %s has schema %d, newer than this "
		              "chatctl (%d)",
		              ctl->opts.db_path, version, known);
	else
		chatctl_error("database %s has schema %d, this chatctl needs "
		              "%d: run `chatctl init`",
		              ctl->opts.db_path, version, known);
	return -1;
}

/*
 * Opens the database for a command that must not create it: opening with
 * SQLite's create flag would leave an empty file behind that the broker
 * would then treat as a store without users.
 */
int chatctl_store_open_existing(struct chatctl *ctl)
{
	struct stat st;

	if (stat(ctl->opts.db_path, &st) != 0) {
		if (errno == ENOENT)
			chatctl_error("no database at %s: run `make run` or "
			              "`chatctl init` first",
			              ctl->opts.db_path);
		else
			chatctl_error("cannot use %s: %s", ctl->opts.db_path,
			              strerror(errno));
		return -1;
	}
	if (open_read_write(ctl) != 0)
		return -1;
	return require_current_schema(ctl);
}

int chatctl_store_open_or_create(struct chatctl *ctl, bool *created)
{
	struct stat st;

	*created = stat(ctl->opts.db_path, &st) != 0 && errno == ENOENT;
	if (*created && chatctl_make_parent_dirs(ctl->opts.db_path) != 0)
		return -1;
	return open_read_write(ctl);
}

/* Brings the schema up to date, reporting the versions before and after. */
int chatctl_store_migrate(struct chatctl *ctl, int *from, int *to)
{
	char err[256] = "";

	if (read_schema_version(ctl, from) != 0)
		return -1;
	if (chat_db_migrate(ctl->db, err, sizeof(err)) != SQLITE_OK) {
		chatctl_error("cannot migrate %s: %s", ctl->opts.db_path, err);
		return -1;
	}
	return read_schema_version(ctl, to);
}

void chatctl_store_close(struct chatctl *ctl)
{
	sqlite3_close(ctl->db);
	ctl->db = NULL;
}

sqlite3_stmt *chatctl_store_prepare(struct chatctl *ctl, const char *sql)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(ctl->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		chatctl_store_failed(ctl, "preparing a statement");
		return NULL;
	}
	return stmt;
}

/* Reports the connection's last error; returns -1 for the caller to pass
 * on. */
int chatctl_store_failed(struct chatctl *ctl, const char *what)
{
	chatctl_error("%s failed: %s (%s)", what, sqlite3_errmsg(ctl->db),
	              ctl->opts.db_path);
	return -1;
}

static int run_sql(struct chatctl *ctl, const char *sql, const char *what)
{
	if (sqlite3_exec(ctl->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return chatctl_store_failed(ctl, what);
	return 0;
}

/*
 * A write transaction takes the write lock up front (BEGIN IMMEDIATE), so
 * what it reads cannot change before it writes; a read transaction is one
 * consistent snapshot that never blocks the bridge.
 */
int chatctl_store_begin(struct chatctl *ctl, bool write)
{
	return run_sql(ctl, write ? "BEGIN IMMEDIATE" : "BEGIN",
	               "starting a transaction");
}

int chatctl_store_commit(struct chatctl *ctl)
{
	if (run_sql(ctl, "COMMIT", "committing") == 0)
		return 0;
	chatctl_store_rollback(ctl);
	return -1;
}

void chatctl_store_rollback(struct chatctl *ctl)
{
	if (!sqlite3_get_autocommit(ctl->db))
		sqlite3_exec(ctl->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Writes the user's kind ("user" or "service") into kind, or "" when there
 * is no such user. */
int chatctl_store_user_kind(struct chatctl *ctl, const char *user, char *kind,
                            size_t kindlen)
{
	sqlite3_stmt *stmt =
	    chatctl_store_prepare(ctl, "SELECT kind FROM users WHERE id = ?");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	kind[0] = '\0';
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(kind, kindlen, "%s",
		         (const char *)sqlite3_column_text(stmt, 0));
	else if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "looking up the user");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Fails with a message unless the user exists, of either kind. */
int chatctl_store_require_user(struct chatctl *ctl, const char *user)
{
	char kind[CHATCTL_KIND_MAX];

	if (chatctl_store_user_kind(ctl, user, kind, sizeof(kind)) != 0)
		return -1;
	if (kind[0] != '\0')
		return 0;
	chatctl_error("no user %s", user);
	return -1;
}

/* Tokens and conversations are for chat users; the service account is
 * managed by `chatctl init` and never chats. */
int chatctl_store_require_chat_user(struct chatctl *ctl, const char *user)
{
	char kind[CHATCTL_KIND_MAX];

	if (chatctl_store_user_kind(ctl, user, kind, sizeof(kind)) != 0)
		return -1;
	if (kind[0] == '\0') {
		chatctl_error("no user %s", user);
		return -1;
	}
	if (strcmp(kind, "user") != 0) {
		chatctl_error("%s is the service account, not a chat user",
		              user);
		return -1;
	}
	return 0;
}
