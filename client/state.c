#include "state.h"

#include "db.h"
#include "filecrypt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_SCHEMA_VERSION 1
#define STATE_BUSY_MS        10000
/* Messages shown per round of client_state_show_pending. */
#define SHOW_BATCH 128

static const char state_schema[] =
    "CREATE TABLE account ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " user TEXT NOT NULL, token TEXT NOT NULL,"
    " host TEXT NOT NULL, port INTEGER NOT NULL,"
    " client_id TEXT NOT NULL, device TEXT NOT NULL DEFAULT '',"
    " identity_public BLOB NOT NULL, identity_secret BLOB NOT NULL,"
    " device_public BLOB NOT NULL, device_secret BLOB NOT NULL,"
    " bundle_created INTEGER NOT NULL,"
    " identity_created INTEGER NOT NULL,"
    " published INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE prekeys ("
    " id INTEGER PRIMARY KEY, public BLOB NOT NULL, secret BLOB NOT NULL);"
    "CREATE TABLE identities ("
    " user TEXT PRIMARY KEY, identity BLOB NOT NULL,"
    " pinned_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE conversations ("
    " convo TEXT PRIMARY KEY, contiguous INTEGER NOT NULL DEFAULT 0,"
    " delivered_sent INTEGER NOT NULL DEFAULT 0,"
    " read_sent INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE messages ("
    " convo TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT,"
    " sender TEXT NOT NULL, ts INTEGER NOT NULL, cmid TEXT,"
    " sender_device TEXT, kind TEXT NOT NULL, content TEXT,"
    " system_type TEXT, error TEXT, shown INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (convo, seq)) WITHOUT ROWID;"
    "CREATE INDEX messages_unshown ON messages (convo, seq)"
    " WHERE shown = 0;"
    "CREATE TABLE outbox ("
    " n INTEGER PRIMARY KEY, convo TEXT NOT NULL, cmid TEXT NOT NULL,"
    " plaintext TEXT NOT NULL, attachments TEXT,"
    " created INTEGER NOT NULL, sent_at INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, UNIQUE (convo, cmid));"
    "CREATE TABLE uploads ("
    " id INTEGER PRIMARY KEY, convo TEXT NOT NULL, cmid TEXT NOT NULL,"
    " path TEXT NOT NULL, name TEXT, type TEXT, cipher_path TEXT NOT NULL,"
    " file_key BLOB NOT NULL, hash BLOB NOT NULL,"
    " plain_size INTEGER NOT NULL, cipher_size INTEGER NOT NULL,"
    " upload TEXT);"
    "CREATE TABLE resend_answers ("
    " convo TEXT NOT NULL, seq INTEGER NOT NULL,"
    " answers INTEGER NOT NULL, PRIMARY KEY (convo, seq)) WITHOUT ROWID;";

static int prepare(struct client_state *s, const char *sql, sqlite3_stmt **stmt)
{
	return sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL) == SQLITE_OK ? 0
	                                                                   : -1;
}

static void bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
	if (text == NULL)
		sqlite3_bind_null(stmt, index);
	else
		sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

static const char *column_text(sqlite3_stmt *stmt, int index)
{
	return (const char *)sqlite3_column_text(stmt, index);
}

/* Steps a statement that returns no rows and finalizes it. */
static int step_done(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int exec_sql(struct client_state *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int schema_version(struct client_state *s, int *version)
{
	sqlite3_stmt *stmt;
	int rc = -1;

	if (prepare(s, "PRAGMA user_version", &stmt) != 0)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*version = sqlite3_column_int(stmt, 0);
		rc = 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int apply_schema(struct client_state *s, char *err, size_t errlen)
{
	char bump[48];
	int version = 0;

	if (client_state_begin(s) != 0 || schema_version(s, &version) != 0)
		goto fail;
	if (version == STATE_SCHEMA_VERSION)
		return client_state_commit(s);
	if (version != 0) {
		client_state_rollback(s);
		snprintf(err, errlen, "state file has schema %d, expected %d",
		         version, STATE_SCHEMA_VERSION);
		return -1;
	}
	snprintf(bump, sizeof(bump), "PRAGMA user_version=%d",
	         STATE_SCHEMA_VERSION);
	if (exec_sql(s, state_schema) != 0 || exec_sql(s, bump) != 0 ||
	    client_state_commit(s) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot set up the state file: %s",
	         sqlite3_errmsg(s->db));
	client_state_rollback(s);
	return -1;
}

/* The file is made here, not by SQLite, to get mode 0600 from the start. */
static int create_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		         errno == EEXIST ? "it exists already"
		                         : strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int client_state_open(const char *path, bool create, struct client_state *s,
                      char *err, size_t errlen)
{
	s->db = NULL;
	if (create && create_file(path, err, errlen) != 0)
		return -1;
	if (!create && access(path, F_OK) != 0) {
		snprintf(err, errlen, "no state file %s (run `chat init`)",
		         path);
		return -1;
	}
	if (chat_db_open(path, CHAT_DB_READ_WRITE, "full", STATE_BUSY_MS,
	                 &s->db, err, errlen) != SQLITE_OK)
		return -1;
	if (apply_schema(s, err, errlen) != 0) {
		client_state_close(s);
		return -1;
	}
	return 0;
}

void client_state_close(struct client_state *s)
{
	if (s->db != NULL)
		sqlite3_close(s->db);
	s->db = NULL;
}

const char *client_state_error(const struct client_state *s)
{
	return s->db ? sqlite3_errmsg(s->db) : "state not open";
}

int client_state_begin(struct client_state *s)
{
	return exec_sql(s, "BEGIN IMMEDIATE");
}

int client_state_commit(struct client_state *s)
{
	return exec_sql(s, "COMMIT");
}

void client_state_rollback(struct client_state *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- account and keys ---- */

int client_state_save_account(struct client_state *s,
                              const struct client_account *a)
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "INSERT OR REPLACE INTO account (id, user, token, host,"
	            " port, client_id, device, identity_public,"
	            " identity_secret, device_public, device_secret,"
	            " bundle_created, identity_created, published)"
	            " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, a->user);
	bind_text(stmt, 2, a->token);
	bind_text(stmt, 3, a->host);
	sqlite3_bind_int(stmt, 4, a->port);
	bind_text(stmt, 5, a->client_id);
	bind_text(stmt, 6, a->device);
	sqlite3_bind_blob(stmt, 7, a->identity.public_key,
	                  sizeof(a->identity.public_key), SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 8, a->identity.secret_key,
	                  sizeof(a->identity.secret_key), SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 9, a->device_keys.public_key,
	                  sizeof(a->device_keys.public_key), SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 10, a->device_keys.secret_key,
	                  sizeof(a->device_keys.secret_key), SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 11, a->bundle_created);
	sqlite3_bind_int(stmt, 12, a->identity_created);
	sqlite3_bind_int(stmt, 13, a->published);
	return step_done(stmt);
}

static int copy_blob(sqlite3_stmt *stmt, int index, unsigned char *out,
                     size_t len)
{
	const void *blob = sqlite3_column_blob(stmt, index);

	if (blob == NULL || (size_t)sqlite3_column_bytes(stmt, index) != len)
		return -1;
	memcpy(out, blob, len);
	return 0;
}

static void copy_text(sqlite3_stmt *stmt, int index, char *out, size_t len)
{
	const char *text = column_text(stmt, index);

	snprintf(out, len, "%s", text ? text : "");
}

static int read_account(sqlite3_stmt *stmt, struct client_account *a)
{
	copy_text(stmt, 0, a->user, sizeof(a->user));
	copy_text(stmt, 1, a->token, sizeof(a->token));
	copy_text(stmt, 2, a->host, sizeof(a->host));
	a->port = sqlite3_column_int(stmt, 3);
	copy_text(stmt, 4, a->client_id, sizeof(a->client_id));
	copy_text(stmt, 5, a->device, sizeof(a->device));
	a->bundle_created = sqlite3_column_int64(stmt, 10);
	a->identity_created = sqlite3_column_int(stmt, 11) != 0;
	a->published = sqlite3_column_int(stmt, 12) != 0;
	if (copy_blob(stmt, 6, a->identity.public_key,
	              sizeof(a->identity.public_key)) != 0 ||
	    copy_blob(stmt, 7, a->identity.secret_key,
	              sizeof(a->identity.secret_key)) != 0 ||
	    copy_blob(stmt, 8, a->device_keys.public_key,
	              sizeof(a->device_keys.public_key)) != 0 ||
	    copy_blob(stmt, 9, a->device_keys.secret_key,
	              sizeof(a->device_keys.secret_key)) != 0)
		return -1;
	return 0;
}

int client_state_load_account(struct client_state *s, struct client_account *a)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s,
	            "SELECT user, token, host, port, client_id, device,"
	            " identity_public, identity_secret, device_public,"
	            " device_secret, bundle_created, identity_created,"
	            " published FROM account WHERE id = 1",
	            &stmt) != 0)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		rc = read_account(stmt, a);
	else
		rc = rc == SQLITE_DONE ? 1 : -1;
	sqlite3_finalize(stmt);
	return rc;
}

int client_state_set_device(struct client_state *s, const char *device)
{
	sqlite3_stmt *stmt;

	if (prepare(s, "UPDATE account SET device = ? WHERE id = 1", &stmt))
		return -1;
	bind_text(stmt, 1, device);
	return step_done(stmt);
}

int client_state_set_published(struct client_state *s, bool published)
{
	sqlite3_stmt *stmt;

	if (prepare(s, "UPDATE account SET published = ? WHERE id = 1", &stmt))
		return -1;
	sqlite3_bind_int(stmt, 1, published);
	return step_done(stmt);
}

int client_state_add_prekey(struct client_state *s,
                            const struct e2e_device_keys *k, long long *id)
{
	sqlite3_stmt *stmt;

	if (prepare(s, "INSERT INTO prekeys (public, secret) VALUES (?, ?)",
	            &stmt) != 0)
		return -1;
	sqlite3_bind_blob(stmt, 1, k->public_key, sizeof(k->public_key),
	                  SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, k->secret_key, sizeof(k->secret_key),
	                  SQLITE_STATIC);
	if (step_done(stmt) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* ---- identities ---- */

int client_state_identity(struct client_state *s, const char *user,
                          unsigned char key[E2E_IDENTITY_PUBLIC_BYTES],
                          bool *found)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s, "SELECT identity FROM identities WHERE user = ?",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, user);
	rc = sqlite3_step(stmt);
	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW)
		rc = copy_blob(stmt, 0, key, E2E_IDENTITY_PUBLIC_BYTES);
	else
		rc = rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(stmt);
	return rc;
}

int client_state_pin_identity(struct client_state *s, const char *user,
                              const unsigned char key[])
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "INSERT OR REPLACE INTO identities (user, identity,"
	            " pinned_at) VALUES (?, ?, ?)",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, user);
	sqlite3_bind_blob(stmt, 2, key, E2E_IDENTITY_PUBLIC_BYTES,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, chat_now_ms());
	return step_done(stmt);
}

/* ---- conversations ---- */

int client_state_contiguous(struct client_state *s, const char *convo,
                            long long *contiguous)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s, "SELECT contiguous FROM conversations WHERE convo = ?",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	rc = sqlite3_step(stmt);
	*contiguous = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int raise_contiguous(struct client_state *s, const char *convo,
                            long long through)
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "INSERT INTO conversations (convo, contiguous)"
	            " VALUES (?1, ?2) ON CONFLICT (convo) DO UPDATE SET"
	            " contiguous = max(contiguous, ?2)",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, through);
	return step_done(stmt);
}

/* The end of the run of stored seqs that starts right after `from`. */
static int stored_run_end(struct client_state *s, const char *convo,
                          long long from, long long *end)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s,
	            "SELECT seq FROM messages WHERE convo = ? AND seq > ?"
	            " ORDER BY seq",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, from);
	*end = from;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	       sqlite3_column_int64(stmt, 0) == *end + 1)
		(*end)++;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int client_state_advance(struct client_state *s, const char *convo,
                         long long through, long long *contiguous)
{
	long long current, end;

	if (raise_contiguous(s, convo, through) != 0 ||
	    client_state_contiguous(s, convo, &current) != 0 ||
	    stored_run_end(s, convo, current, &end) != 0)
		return -1;
	if (end > current && raise_contiguous(s, convo, end) != 0)
		return -1;
	*contiguous = end;
	return 0;
}

int client_state_receipts(struct client_state *s, const char *convo,
                          long long *delivered, long long *read)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s,
	            "SELECT delivered_sent, read_sent FROM conversations"
	            " WHERE convo = ?",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	rc = sqlite3_step(stmt);
	*delivered = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	*read = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 1) : 0;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int client_state_set_receipts(struct client_state *s, const char *convo,
                              long long delivered, long long read)
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "INSERT INTO conversations (convo, delivered_sent,"
	            " read_sent) VALUES (?1, ?2, ?3) ON CONFLICT (convo) DO"
	            " UPDATE SET delivered_sent = max(delivered_sent, ?2),"
	            " read_sent = max(read_sent, ?3)",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, delivered);
	sqlite3_bind_int64(stmt, 3, read);
	return step_done(stmt);
}

/* Pairs read out before any callback runs, so that callbacks may write. */
struct convo_position {
	char convo[CHAT_ID_MAX + 1];
	long long contiguous;
};

int client_state_receipts_due(struct client_state *s, bool read,
                              int (*fn)(void *ctx, const char *convo,
                                        long long contiguous),
                              void *ctx)
{
	struct convo_position *due = NULL, *grown;
	size_t count = 0;
	sqlite3_stmt *stmt;
	int rc = -1;

	if (prepare(s,
	            read ? "SELECT convo, contiguous FROM conversations"
	                   " WHERE contiguous > read_sent"
	                 : "SELECT convo, contiguous FROM conversations"
	                   " WHERE contiguous > delivered_sent",
	            &stmt) != 0)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		grown = realloc(due, (count + 1) * sizeof(*due));
		if (grown == NULL)
			break;
		due = grown;
		copy_text(stmt, 0, due[count].convo, sizeof(due->convo));
		due[count++].contiguous = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	rc = rc == SQLITE_DONE ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = fn(ctx, due[i].convo, due[i].contiguous);
	free(due);
	return rc;
}

/* ---- messages ---- */

int client_state_store_message(struct client_state *s,
                               const struct client_message *m, bool *inserted)
{
	sqlite3_stmt *stmt;

	if (prepare(
	        s,
	        "INSERT OR IGNORE INTO messages (convo, seq, id, sender,"
	        " ts, cmid, sender_device, kind, content, system_type,"
	        " error, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	        &stmt) != 0)
		return -1;
	bind_text(stmt, 1, m->convo);
	sqlite3_bind_int64(stmt, 2, m->seq);
	bind_text(stmt, 3, m->id);
	bind_text(stmt, 4, m->sender);
	sqlite3_bind_int64(stmt, 5, m->ts);
	bind_text(stmt, 6, m->cmid);
	bind_text(stmt, 7, m->sender_device);
	bind_text(stmt, 8, m->kind);
	bind_text(stmt, 9, m->content);
	bind_text(stmt, 10, m->system_type);
	bind_text(stmt, 11, m->error);
	sqlite3_bind_int(stmt, 12, m->shown);
	if (step_done(stmt) != 0)
		return -1;
	*inserted = sqlite3_changes(s->db) > 0;
	return 0;
}

int client_state_has_message(struct client_state *s, const char *convo,
                             long long seq, bool *found)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s, "SELECT 1 FROM messages WHERE convo = ? AND seq = ?",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, seq);
	rc = sqlite3_step(stmt);
	*found = rc == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int client_state_message(struct client_state *s, const char *convo,
                         long long seq, client_message_fn fn, void *ctx)
{
	struct client_message m;
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s,
	            "SELECT id, sender, ts, cmid, sender_device, kind,"
	            " content, system_type, error, shown FROM messages"
	            " WHERE convo = ? AND seq = ?",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, seq);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		m.convo = convo;
		m.seq = seq;
		m.id = column_text(stmt, 0);
		m.sender = column_text(stmt, 1);
		m.ts = sqlite3_column_int64(stmt, 2);
		m.cmid = column_text(stmt, 3);
		m.sender_device = column_text(stmt, 4);
		m.kind = column_text(stmt, 5);
		m.content = column_text(stmt, 6);
		m.system_type = column_text(stmt, 7);
		m.error = column_text(stmt, 8);
		m.shown = sqlite3_column_int(stmt, 9) != 0;
		rc = fn(ctx, &m);
	} else {
		rc = rc == SQLITE_DONE ? 1 : -1;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int mark_shown(struct client_state *s, const char *convo, long long seq)
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "UPDATE messages SET shown = 1 WHERE convo = ? AND seq = ?",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, seq);
	return step_done(stmt);
}

/* Up to SHOW_BATCH (convo, seq) pairs that are due to be shown. */
static int pending_batch(struct client_state *s, const char *convo,
                         struct convo_position *batch, size_t *count)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s,
	            "SELECT m.convo, m.seq FROM messages m JOIN conversations"
	            " c ON c.convo = m.convo WHERE m.shown = 0 AND"
	            " m.seq <= c.contiguous AND (?1 IS NULL OR m.convo = ?1)"
	            " ORDER BY m.convo, m.seq LIMIT ?2",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int(stmt, 2, SHOW_BATCH);
	*count = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		copy_text(stmt, 0, batch[*count].convo, sizeof(batch->convo));
		batch[(*count)++].contiguous = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

int client_state_show_pending(struct client_state *s, const char *convo,
                              client_message_fn fn, void *ctx)
{
	struct convo_position batch[SHOW_BATCH];
	size_t count;

	do {
		if (pending_batch(s, convo, batch, &count) != 0)
			return -1;
		for (size_t i = 0; i < count; i++) {
			int rc = client_state_message(
			    s, batch[i].convo, batch[i].contiguous, fn, ctx);

			if (rc != 0)
				return rc < 0 ? -1 : 0;
			if (mark_shown(s, batch[i].convo,
			               batch[i].contiguous) != 0)
				return -1;
		}
	} while (count == SHOW_BATCH);
	return 0;
}

/* ---- outbox ---- */

int client_state_outbox_add(struct client_state *s,
                            const struct client_outbox_entry *e)
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "INSERT INTO outbox (convo, cmid, plaintext, attachments,"
	            " created) VALUES (?, ?, ?, ?, ?)",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, e->convo);
	bind_text(stmt, 2, e->cmid);
	bind_text(stmt, 3, e->plaintext);
	bind_text(stmt, 4, e->attachments);
	sqlite3_bind_int64(stmt, 5, e->created);
	return step_done(stmt);
}

int client_state_outbox_remove(struct client_state *s, const char *convo,
                               const char *cmid, bool *removed)
{
	sqlite3_stmt *stmt;

	if (prepare(s, "DELETE FROM outbox WHERE convo = ? AND cmid = ?",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	bind_text(stmt, 2, cmid);
	if (step_done(stmt) != 0)
		return -1;
	*removed = sqlite3_changes(s->db) > 0;
	return 0;
}

static int outbox_rows(sqlite3_stmt *stmt, client_outbox_fn fn, void *ctx,
                       bool *any)
{
	struct client_outbox_entry e;
	int rc;

	*any = false;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*any = true;
		e.convo = column_text(stmt, 0);
		e.cmid = column_text(stmt, 1);
		e.plaintext = column_text(stmt, 2);
		e.attachments = column_text(stmt, 3);
		e.created = sqlite3_column_int64(stmt, 4);
		e.sent_at = sqlite3_column_int64(stmt, 5);
		e.attempts = sqlite3_column_int(stmt, 6);
		rc = fn(ctx, &e);
		if (rc != 0)
			return rc;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

#define OUTBOX_COLUMNS                                                         \
	"SELECT convo, cmid, plaintext, attachments, created, sent_at,"        \
	" attempts FROM outbox"

int client_state_outbox_get(struct client_state *s, const char *convo,
                            const char *cmid, client_outbox_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	bool any;
	int rc;

	if (prepare(s, OUTBOX_COLUMNS " WHERE convo = ? AND cmid = ?", &stmt) !=
	    0)
		return -1;
	bind_text(stmt, 1, convo);
	bind_text(stmt, 2, cmid);
	rc = outbox_rows(stmt, fn, ctx, &any);
	sqlite3_finalize(stmt);
	return rc == 0 && !any ? 1 : rc;
}

/* Copies of the rows, so that callbacks may change the outbox. */
struct outbox_copy {
	char *convo, *cmid, *plaintext, *attachments;
	long long created, sent_at;
	int attempts;
};

static int copy_outbox_row(void *ctx, const struct client_outbox_entry *e)
{
	struct {
		struct outbox_copy *rows;
		size_t count;
	} *list = ctx;
	struct outbox_copy *grown, *row;

	grown = realloc(list->rows, (list->count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	list->rows = grown;
	row = &grown[list->count++];
	row->convo = strdup(e->convo);
	row->cmid = strdup(e->cmid);
	row->plaintext = strdup(e->plaintext);
	row->attachments = e->attachments ? strdup(e->attachments) : NULL;
	row->created = e->created;
	row->sent_at = e->sent_at;
	row->attempts = e->attempts;
	if (!row->convo || !row->cmid || !row->plaintext ||
	    (e->attachments && !row->attachments))
		return -1;
	return 0;
}

int client_state_outbox_each(struct client_state *s, client_outbox_fn fn,
                             void *ctx)
{
	struct {
		struct outbox_copy *rows;
		size_t count;
	} list = {NULL, 0};
	sqlite3_stmt *stmt;
	bool any;
	int rc;

	if (prepare(s, OUTBOX_COLUMNS " ORDER BY n", &stmt) != 0)
		return -1;
	rc = outbox_rows(stmt, copy_outbox_row, &list, &any);
	sqlite3_finalize(stmt);
	for (size_t i = 0; rc == 0 && i < list.count; i++) {
		struct outbox_copy *r = &list.rows[i];
		struct client_outbox_entry e = {
		    r->convo,   r->cmid,    r->plaintext, r->attachments,
		    r->created, r->sent_at, r->attempts};

		rc = fn(ctx, &e);
	}
	for (size_t i = 0; i < list.count; i++) {
		free(list.rows[i].convo);
		free(list.rows[i].cmid);
		free(list.rows[i].plaintext);
		free(list.rows[i].attachments);
	}
	free(list.rows);
	return rc;
}

int client_state_outbox_sent(struct client_state *s, const char *convo,
                             const char *cmid, long long now_ms)
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "UPDATE outbox SET sent_at = ?, attempts = attempts + 1"
	            " WHERE convo = ? AND cmid = ?",
	            &stmt) != 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, now_ms);
	bind_text(stmt, 2, convo);
	bind_text(stmt, 3, cmid);
	return step_done(stmt);
}

int client_state_outbox_count(struct client_state *s, long long *count)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s, "SELECT count(*) FROM outbox", &stmt) != 0)
		return -1;
	rc = sqlite3_step(stmt);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* ---- uploads ---- */

int client_state_upload_add(struct client_state *s,
                            const struct client_upload *u, long long *id)
{
	sqlite3_stmt *stmt;

	if (prepare(s,
	            "INSERT INTO uploads (convo, cmid, path, name, type,"
	            " cipher_path, file_key, hash, plain_size, cipher_size,"
	            " upload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, u->convo);
	bind_text(stmt, 2, u->cmid);
	bind_text(stmt, 3, u->path);
	bind_text(stmt, 4, u->name);
	bind_text(stmt, 5, u->type);
	bind_text(stmt, 6, u->cipher_path);
	sqlite3_bind_blob(stmt, 7, u->file_key, E2E_FILE_KEY_BYTES,
	                  SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 8, u->hash, E2E_FILE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 9, u->plain_size);
	sqlite3_bind_int64(stmt, 10, u->cipher_size);
	bind_text(stmt, 11, u->upload);
	if (step_done(stmt) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int client_state_upload_set_id(struct client_state *s, long long id,
                               const char *upload)
{
	sqlite3_stmt *stmt;

	if (prepare(s, "UPDATE uploads SET upload = ? WHERE id = ?", &stmt))
		return -1;
	bind_text(stmt, 1, upload);
	sqlite3_bind_int64(stmt, 2, id);
	return step_done(stmt);
}

int client_state_upload_remove(struct client_state *s, long long id)
{
	sqlite3_stmt *stmt;

	if (prepare(s, "DELETE FROM uploads WHERE id = ?", &stmt) != 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return step_done(stmt);
}

/* An upload row copied out of its statement. */
struct upload_copy {
	struct client_upload u;
	char convo[CHAT_ID_MAX + 1], cmid[CHAT_CMID_MAX + 1];
	char path[PATH_MAX], cipher_path[PATH_MAX];
	char name[256], type[256], upload[256];
	unsigned char file_key[E2E_FILE_KEY_BYTES];
	unsigned char hash[E2E_FILE_HASH_BYTES];
};

static int upload_row(sqlite3_stmt *stmt, struct upload_copy *c)
{
	struct client_upload *u = &c->u;

	if (copy_blob(stmt, 7, c->file_key, sizeof(c->file_key)) != 0 ||
	    copy_blob(stmt, 8, c->hash, sizeof(c->hash)) != 0)
		return -1;
	copy_text(stmt, 1, c->convo, sizeof(c->convo));
	copy_text(stmt, 2, c->cmid, sizeof(c->cmid));
	copy_text(stmt, 3, c->path, sizeof(c->path));
	copy_text(stmt, 4, c->name, sizeof(c->name));
	copy_text(stmt, 5, c->type, sizeof(c->type));
	copy_text(stmt, 6, c->cipher_path, sizeof(c->cipher_path));
	copy_text(stmt, 11, c->upload, sizeof(c->upload));
	u->id = sqlite3_column_int64(stmt, 0);
	u->convo = c->convo;
	u->cmid = c->cmid;
	u->path = c->path;
	u->name = c->name;
	u->type = c->type;
	u->cipher_path = c->cipher_path;
	u->file_key = c->file_key;
	u->hash = c->hash;
	u->plain_size = sqlite3_column_int64(stmt, 9);
	u->cipher_size = sqlite3_column_int64(stmt, 10);
	u->upload = c->upload[0] ? c->upload : NULL;
	return 0;
}

/* Uploads are few and callbacks talk to the network: one row at a time,
 * copied out, so callbacks may change the table. A callback returning 1
 * stops the walk. */
int client_state_upload_each(struct client_state *s, client_upload_fn fn,
                             void *ctx)
{
	long long after = 0;

	for (;;) {
		struct upload_copy *c = malloc(sizeof(*c));
		sqlite3_stmt *stmt;
		int rc;

		if (c == NULL)
			return -1;
		if (prepare(s,
		            "SELECT id, convo, cmid, path, name, type,"
		            " cipher_path, file_key, hash, plain_size,"
		            " cipher_size, upload FROM uploads WHERE id > ?"
		            " ORDER BY id LIMIT 1",
		            &stmt) != 0) {
			free(c);
			return -1;
		}
		sqlite3_bind_int64(stmt, 1, after);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			rc = upload_row(stmt, c);
		else
			rc = rc == SQLITE_DONE ? 1 : -1;
		sqlite3_finalize(stmt);
		if (rc == 0) {
			after = c->u.id;
			rc = fn(ctx, &c->u);
		}
		free(c);
		if (rc != 0)
			return rc > 0 ? 0 : rc;
	}
}

int client_state_count_resend(struct client_state *s, const char *convo,
                              long long seq, int *answers)
{
	sqlite3_stmt *stmt;
	int rc;

	if (prepare(s,
	            "INSERT INTO resend_answers (convo, seq, answers)"
	            " VALUES (?, ?, 1) ON CONFLICT (convo, seq) DO UPDATE"
	            " SET answers = answers + 1 RETURNING answers",
	            &stmt) != 0)
		return -1;
	bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, seq);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*answers = sqlite3_column_int(stmt, 0);
	/* RETURNING needs the statement run to its end to apply. */
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}
