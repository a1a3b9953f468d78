#include "store.h"

#include "db.h"
#include "token.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum statement {
	STMT_CHECK_TOKEN,
	STMT_CONVO,
	STMT_MEMBERS,
	STMT_MAX_ID,
	STMT_REVOKED_SINCE,
	STMT_HIDES,
	STMT_SHARE,
	STMT_ONLINE,
	STMT_OFFLINE_AFTER,
	STMT_COUNT,
};

static const char *const statement_sql[STMT_COUNT] = {
	[STMT_CHECK_TOKEN] =
		"SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id"
		" WHERE d.token_hash = ?1 AND d.user_id = ?2"
		" AND d.revoked_at IS NULL AND u.kind = ?3",
	[STMT_CONVO] = "SELECT kind = 'channel', broadcast FROM conversations"
		       " WHERE id = ?1",
	[STMT_MEMBERS] = "SELECT user_id, joined_seq, left_seq FROM members"
			 " WHERE convo_id = ?1",
	[STMT_MAX_ID] = "SELECT COALESCE(MAX(id), 0) FROM messages",
	[STMT_REVOKED_SINCE] = "SELECT id, revoked_at FROM devices"
			       " WHERE revoked_at > ?1"
			       " OR (revoked_at = ?1 AND id > ?2)"
			       " ORDER BY revoked_at, id",
	[STMT_HIDES] = "SELECT hide_presence FROM users WHERE id = ?1",
	/* Through the viewer's conversations, then one key lookup each. */
	[STMT_SHARE] = "SELECT 1 FROM members a JOIN members b"
		       " ON b.convo_id = a.convo_id AND b.user_id = ?2"
		       " WHERE a.user_id = ?1 AND a.left_seq IS NULL"
		       " AND b.left_seq IS NULL LIMIT 1",
	[STMT_ONLINE] = "SELECT id FROM users WHERE online = 1",
	[STMT_OFFLINE_AFTER] = "SELECT id, last_seen FROM users"
			       " WHERE online = 0 AND last_seen IS NOT NULL"
			       " AND id > ?1 ORDER BY id LIMIT ?2",
};

struct chat_store {
	char *path;
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT];
	chat_store_log_fn log;
	time_t last_attempt;
};

struct chat_store *chat_store_new(const char *path, chat_store_log_fn log)
{
	struct chat_store *store = calloc(1, sizeof(*store));

	if (store == NULL)
		return NULL;
	store->path = strdup(path);
	if (store->path == NULL) {
		free(store);
		return NULL;
	}
	store->log = log;
	return store;
}

static void close_db(struct chat_store *store)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		sqlite3_finalize(store->stmt[i]);
		store->stmt[i] = NULL;
	}
	sqlite3_close(store->db);
	store->db = NULL;
}

void chat_store_free(struct chat_store *store)
{
	if (store == NULL)
		return;
	close_db(store);
	free(store->path);
	free(store);
}

static void report(struct chat_store *store, const char *what,
		   const char *detail)
{
	char line[512];

	snprintf(line, sizeof(line), "%s: %s", what, detail);
	if (store->log)
		store->log(line);
}

static int prepare_all(struct chat_store *store)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		int rc = sqlite3_prepare_v3(store->db, statement_sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT,
					    &store->stmt[i], NULL);

		if (rc != SQLITE_OK) {
			report(store, "cannot prepare store queries (schema "
				      "not created yet?)",
			       sqlite3_errmsg(store->db));
			return -1;
		}
	}
	return 0;
}

/* Opens the database on first use, and again after a failure, but tries at
 * most once a second so a missing file does not slow every connect. */
static int ensure_open(struct chat_store *store)
{
	char err[256];
	time_t now = time(NULL);

	if (store->db)
		return 0;
	if (now == store->last_attempt)
		return -1;
	store->last_attempt = now;
	if (chat_db_open(store->path, CHAT_DB_READ_ONLY, NULL, 200, &store->db,
			 err, sizeof(err)) != SQLITE_OK) {
		store->db = NULL;
		report(store, "cannot open the chat database", err);
		return -1;
	}
	if (prepare_all(store) != 0) {
		close_db(store);
		return -1;
	}
	return 0;
}

/* Runs a statement to its first row. The statement is reset by the caller
 * through finish(), which also releases the read snapshot. */
static enum chat_store_result step_first(struct chat_store *store,
					 sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return CHAT_STORE_OK;
	if (rc == SQLITE_DONE)
		return CHAT_STORE_NOT_FOUND;
	report(store, "chat database read failed", sqlite3_errmsg(store->db));
	return CHAT_STORE_ERROR;
}

static void finish(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

enum chat_store_result chat_store_check_token(struct chat_store *store,
					      const char *user,
					      enum chat_account_kind kind,
					      const char *token, size_t len,
					      long long *device_id)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	enum chat_store_result result;
	sqlite3_stmt *stmt;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_CHECK_TOKEN];
	chat_token_hash(token, len, hash);
	sqlite3_bind_blob(stmt, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3,
			  kind == CHAT_ACCOUNT_SERVICE ? "service" : "user",
			  -1, SQLITE_STATIC);
	result = step_first(store, stmt);
	if (result == CHAT_STORE_OK)
		*device_id = sqlite3_column_int64(stmt, 0);
	finish(stmt);
	return result;
}

enum chat_store_result chat_store_convo_info(struct chat_store *store,
					     const char *convo,
					     struct chat_store_convo *out)
{
	enum chat_store_result result;
	sqlite3_stmt *stmt;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_CONVO];
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	result = step_first(store, stmt);
	if (result == CHAT_STORE_OK) {
		out->channel = sqlite3_column_int(stmt, 0) != 0;
		out->broadcast = sqlite3_column_int(stmt, 1) != 0;
	}
	finish(stmt);
	return result;
}

enum chat_store_result chat_store_each_member(
	struct chat_store *store, const char *convo,
	void (*fn)(const struct chat_store_member *member, void *arg),
	void *arg)
{
	struct chat_store_member row;
	sqlite3_stmt *stmt;
	int rc;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_MEMBERS];
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		row.user = (const char *)sqlite3_column_text(stmt, 0);
		row.joined_seq = sqlite3_column_int64(stmt, 1);
		row.left = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
		row.left_seq = sqlite3_column_int64(stmt, 2);
		fn(&row, arg);
	}
	finish(stmt);
	if (rc != SQLITE_DONE) {
		report(store, "chat database read failed",
		       sqlite3_errmsg(store->db));
		return CHAT_STORE_ERROR;
	}
	return CHAT_STORE_OK;
}

enum chat_store_result chat_store_max_message_id(struct chat_store *store,
						 uint64_t *id)
{
	enum chat_store_result result;
	sqlite3_stmt *stmt;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_MAX_ID];
	result = step_first(store, stmt);
	if (result == CHAT_STORE_OK)
		*id = (uint64_t)sqlite3_column_int64(stmt, 0);
	finish(stmt);
	return result;
}

enum chat_store_result chat_store_each_revocation(
	struct chat_store *store, struct chat_revocation_mark *mark,
	void (*fn)(long long device_id, void *arg), void *arg)
{
	sqlite3_stmt *stmt;
	int rc;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_REVOKED_SINCE];
	sqlite3_bind_int64(stmt, 1, mark->revoked_at);
	sqlite3_bind_int64(stmt, 2, mark->device_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		mark->device_id = sqlite3_column_int64(stmt, 0);
		mark->revoked_at = sqlite3_column_int64(stmt, 1);
		if (fn)
			fn(mark->device_id, arg);
	}
	finish(stmt);
	if (rc != SQLITE_DONE) {
		report(store, "chat database read failed",
		       sqlite3_errmsg(store->db));
		return CHAT_STORE_ERROR;
	}
	return CHAT_STORE_OK;
}

enum chat_store_result chat_store_hides_presence(struct chat_store *store,
						 const char *user,
						 bool *hidden)
{
	enum chat_store_result result;
	sqlite3_stmt *stmt;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_HIDES];
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	result = step_first(store, stmt);
	*hidden = result != CHAT_STORE_OK || sqlite3_column_int(stmt, 0) != 0;
	finish(stmt);
	return result == CHAT_STORE_ERROR ? CHAT_STORE_ERROR : CHAT_STORE_OK;
}

enum chat_store_result chat_store_user_exists(struct chat_store *store,
					      const char *user)
{
	enum chat_store_result result;
	sqlite3_stmt *stmt;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_HIDES];
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	result = step_first(store, stmt);
	finish(stmt);
	return result;
}

enum chat_store_result chat_store_share_conversation(struct chat_store *store,
						     const char *a,
						     const char *b,
						     bool *shared)
{
	enum chat_store_result result;
	sqlite3_stmt *stmt;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_SHARE];
	sqlite3_bind_text(stmt, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, b, -1, SQLITE_STATIC);
	result = step_first(store, stmt);
	*shared = result == CHAT_STORE_OK;
	finish(stmt);
	return result == CHAT_STORE_ERROR ? CHAT_STORE_ERROR : CHAT_STORE_OK;
}

enum chat_store_result chat_store_each_online_user(
	struct chat_store *store, void (*fn)(const char *user, void *arg),
	void *arg)
{
	sqlite3_stmt *stmt;
	int rc;

	if (ensure_open(store) != 0)
		return CHAT_STORE_ERROR;
	stmt = store->stmt[STMT_ONLINE];
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(stmt, 0), arg);
	finish(stmt);
	if (rc != SQLITE_DONE) {
		report(store, "chat database read failed",
		       sqlite3_errmsg(store->db));
		return CHAT_STORE_ERROR;
	}
	return CHAT_STORE_OK;
}

int chat_store_each_offline_user(struct chat_store *store, const char *after,
				 int limit,
				 void (*fn)(const char *user,
					    long long last_seen, void *arg),
				 void *arg, char *last, size_t last_size)
{
	sqlite3_stmt *stmt;
	int rc, count = 0;

	if (ensure_open(store) != 0)
		return -1;
	stmt = store->stmt[STMT_OFFLINE_AFTER];
	sqlite3_bind_text(stmt, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *user = (const char *)sqlite3_column_text(stmt, 0);

		fn(user, sqlite3_column_int64(stmt, 1), arg);
		snprintf(last, last_size, "%s", user);
		count++;
	}
	finish(stmt);
	if (rc != SQLITE_DONE) {
		report(store, "chat database read failed",
		       sqlite3_errmsg(store->db));
		return -1;
	}
	return count;
}
