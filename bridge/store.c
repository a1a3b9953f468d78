#include "store.h"

#include "heads.h"
#include "store_sql.h"
#include "idgen.h"
#include "presence_updates.h"
#include "watermarks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum statement {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_HEAD,
	STMT_MEMBERSHIP,
	STMT_FIND_BY_CMID,
	STMT_INSERT,
	STMT_INSERT_ATTACHMENTS,
	STMT_READ_AFTER,
	STMT_READ_BEFORE,
	STMT_CONVERSATIONS_OF,
	STMT_MEMBERS_OF,
	STMT_SET_ANNOUNCED,
	STMT_UNANNOUNCED,
	STMT_MAX_ID,
	STMT_SET_PRESENCE,
	STMT_COUNT
};

static const char *const statement_sql[STMT_COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_HEAD] = "SELECT COALESCE(MAX(seq), 0) FROM messages"
                  " WHERE convo_id = ?1",
    [STMT_MEMBERSHIP] = "SELECT role = 'admin', joined_seq, left_seq,"
                        " delivered_seq, read_seq FROM members"
                        " WHERE convo_id = ?1 AND user_id = ?2",
    [STMT_FIND_BY_CMID] = "SELECT seq, id, ts, body, type, attachments"
                          " FROM messages WHERE convo_id = ?1"
                          " AND sender = ?2 AND cmid = ?3",
    [STMT_INSERT] = "INSERT INTO messages (convo_id, seq, id, sender,"
                    " cmid, ts, body, type, attachments)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    /* The file ids of a message, from the array the bridge wrote. */
    [STMT_INSERT_ATTACHMENTS] = "INSERT OR IGNORE INTO message_attachments"
                                " (blob, convo_id, seq)"
                                " SELECT value, ?1, ?2 FROM json_each(?3)",
    [STMT_READ_AFTER] = "SELECT seq, id, sender, ts, cmid, body, type,"
                        " attachments FROM messages WHERE convo_id = ?1"
                        " AND seq > ?2 AND seq <= ?3 ORDER BY seq"
                        " LIMIT ?4",
    [STMT_READ_BEFORE] = "SELECT seq, id, sender, ts, cmid, body, type,"
                         " attachments FROM messages WHERE convo_id = ?1"
                         " AND seq > ?2 AND seq < ?3"
                         " ORDER BY seq DESC LIMIT ?4",
    [STMT_CONVERSATIONS_OF] =
        "SELECT c.id, c.kind, c.title, c.broadcast, m.role = 'admin',"
        " m.joined_seq, m.left_seq, m.delivered_seq, m.read_seq,"
        " (SELECT COUNT(*) FROM members x WHERE x.convo_id = c.id"
        " AND x.left_seq IS NULL)"
        " FROM members m JOIN conversations c ON c.id = m.convo_id"
        " WHERE m.user_id = ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3",
    [STMT_MEMBERS_OF] = "SELECT user_id FROM members WHERE convo_id = ?1"
                        " AND left_seq IS NULL ORDER BY user_id",
    [STMT_SET_ANNOUNCED] = "UPDATE conversations SET announced_seq = ?2"
                           " WHERE id = ?1 AND announced_seq < ?2",
    /* One head lookup per conversation, never a scan of the log. */
    [STMT_UNANNOUNCED] = "SELECT id, announced_seq, head FROM"
                         " (SELECT c.id, c.announced_seq,"
                         " (SELECT MAX(m.seq) FROM messages m"
                         " WHERE m.convo_id = c.id) AS head"
                         " FROM conversations c)"
                         " WHERE head > announced_seq ORDER BY id",
    [STMT_MAX_ID] = "SELECT MAX(id) FROM messages",
    [STMT_SET_PRESENCE] = "UPDATE users SET online = ?2,"
                          " last_seen = COALESCE(?3, last_seen)"
                          " WHERE id = ?1",
};

/* A statement of another store file, prepared on first use. */
struct cached_statement {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct bridge_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT];
	struct cached_statement *cached;
	size_t cached_count;
	size_t cached_cap;
	struct bridge_heads heads;
	struct bridge_watermarks watermarks;
	struct bridge_presence_updates presence;
	struct chat_idgen system_ids;
	int synchronous; /* PRAGMA synchronous as opened: 0 off ... 3 extra */
};

static int read_synchronous(sqlite3 *db, int *level)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	*level = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 2;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* System message ids continue after every id stored, whoever made it. */
static int seed_system_ids(struct bridge_store *s)
{
	sqlite3_stmt *stmt = s->stmt[STMT_MAX_ID];
	bool found;
	int rc = bridge_sql_step_one(stmt, &found);

	if (rc != SQLITE_OK)
		return rc;
	chat_idgen_init(&s->system_ids, CHAT_BRIDGE_NODE_ID);
	if (found && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		chat_idgen_after(
		    &s->system_ids, (uint64_t)sqlite3_column_int64(stmt, 0));
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_open(sqlite3 *db, struct bridge_store **out)
{
	struct bridge_store *s = calloc(1, sizeof(*s));
	int rc = SQLITE_OK;

	if (s == NULL)
		return SQLITE_NOMEM;
	s->db = db;
	bridge_heads_init(&s->heads);
	bridge_watermarks_init(&s->watermarks);
	bridge_presence_updates_init(&s->presence);
	for (int i = 0; i < STMT_COUNT && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(db, statement_sql[i], -1,
		                        SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
		                        NULL);
	if (rc == SQLITE_OK)
		rc = read_synchronous(db, &s->synchronous);
	if (rc == SQLITE_OK)
		rc = seed_system_ids(s);
	if (rc != SQLITE_OK) {
		bridge_store_close(s);
		return rc;
	}
	*out = s;
	return SQLITE_OK;
}

void bridge_store_close(struct bridge_store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	for (size_t i = 0; i < s->cached_count; i++)
		sqlite3_finalize(s->cached[i].stmt);
	free(s->cached);
	bridge_heads_free(&s->heads);
	bridge_watermarks_free(&s->watermarks);
	bridge_presence_updates_free(&s->presence);
	free(s);
}

const char *bridge_store_error(const struct bridge_store *s)
{
	return sqlite3_errmsg(s->db);
}

int bridge_sql_statement(struct bridge_store *s, const char *sql,
                         sqlite3_stmt **out)
{
	struct cached_statement *c;
	int rc;

	for (size_t i = 0; i < s->cached_count; i++) {
		if (s->cached[i].sql == sql) {
			*out = s->cached[i].stmt;
			return SQLITE_OK;
		}
	}
	if (s->cached_count == s->cached_cap) {
		size_t cap = s->cached_cap ? s->cached_cap * 2 : 32;
		struct cached_statement *grown =
		    realloc(s->cached, cap * sizeof(*grown));

		if (grown == NULL)
			return SQLITE_NOMEM;
		s->cached = grown;
		s->cached_cap = cap;
	}
	c = &s->cached[s->cached_count];
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	                        &c->stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	c->sql = sql;
	s->cached_count++;
	*out = c->stmt;
	return SQLITE_OK;
}

int bridge_sql_run(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int bridge_sql_step_one(sqlite3_stmt *stmt, bool *found)
{
	int rc = sqlite3_step(stmt);

	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return SQLITE_OK;
	sqlite3_reset(stmt);
	return rc;
}

void bridge_sql_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
	sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
}

int bridge_store_begin(struct bridge_store *s)
{
	return bridge_sql_run(s->stmt[STMT_BEGIN]);
}

int bridge_store_commit(struct bridge_store *s)
{
	int rc = bridge_sql_run(s->stmt[STMT_COMMIT]);

	if (rc == SQLITE_OK) {
		bridge_heads_commit(&s->heads);
		bridge_watermarks_commit(&s->watermarks);
		bridge_presence_updates_commit(&s->presence);
	}
	return rc;
}

void bridge_store_rollback(struct bridge_store *s)
{
	/* SQLite may already have rolled back by itself (disk full, I/O). */
	if (!sqlite3_get_autocommit(s->db))
		bridge_sql_run(s->stmt[STMT_ROLLBACK]);
	bridge_heads_discard(&s->heads);
	bridge_watermarks_discard(&s->watermarks);
	bridge_presence_updates_discard(&s->presence);
}

void bridge_store_forget_heads(struct bridge_store *s)
{
	bridge_heads_forget_all(&s->heads);
}

static int load_head(struct bridge_store *s, const char *convo,
                     struct bridge_head **out)
{
	sqlite3_stmt *stmt = s->stmt[STMT_HEAD];
	long long head = 0;
	bool found;
	int rc;

	*out = bridge_heads_find(&s->heads, convo);
	if (*out != NULL)
		return SQLITE_OK;
	bridge_sql_bind_text(stmt, 1, convo);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc != SQLITE_OK)
		return rc;
	if (found)
		head = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	*out = bridge_heads_add(&s->heads, convo, head);
	return *out ? SQLITE_OK : SQLITE_NOMEM;
}

int bridge_store_head(struct bridge_store *s, const char *convo,
                      long long *head)
{
	struct bridge_head *cached;
	int rc = load_head(s, convo, &cached);

	if (rc == SQLITE_OK)
		*head = cached->committed;
	return rc;
}

int bridge_store_next_seq(struct bridge_store *s, const char *convo,
                          long long *seq)
{
	struct bridge_head *head;
	int rc = load_head(s, convo, &head);

	if (rc == SQLITE_OK)
		*seq = (head->touched ? head->tentative : head->committed) + 1;
	return rc;
}

uint64_t bridge_store_system_id(struct bridge_store *s, long long now_ms)
{
	return chat_idgen_next(&s->system_ids, now_ms);
}

int bridge_store_membership(struct bridge_store *s, const char *convo,
                            const char *user, struct bridge_membership *out)
{
	sqlite3_stmt *stmt = s->stmt[STMT_MEMBERSHIP];
	int rc;

	memset(out, 0, sizeof(*out));
	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, user);
	rc = bridge_sql_step_one(stmt, &out->found);
	if (rc != SQLITE_OK || !out->found)
		goto done;
	out->admin = sqlite3_column_int(stmt, 0) != 0;
	out->joined_seq = sqlite3_column_int64(stmt, 1);
	out->current = sqlite3_column_type(stmt, 2) == SQLITE_NULL;
	out->left_seq = out->current ? 0 : sqlite3_column_int64(stmt, 2);
	out->delivered_seq = sqlite3_column_int64(stmt, 3);
	out->read_seq = sqlite3_column_int64(stmt, 4);
done:
	sqlite3_reset(stmt);
	return rc;
}

long long bridge_membership_head(const struct bridge_membership *m,
                                 long long head)
{
	if (m->current || m->left_seq > head)
		return head;
	return m->left_seq;
}

void bridge_sql_copy_column(sqlite3_stmt *stmt, int col, char *dst, size_t len)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);
	size_t n = text ? strlen((const char *)text) : 0;

	if (n >= len)
		n = len - 1;
	memcpy(dst, text ? (const char *)text : "", n);
	dst[n] = '\0';
}

/* An owned copy of a text column that may be NULL; false when out of
 * memory. */
static bool dup_column(sqlite3_stmt *stmt, int col, char **out)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	*out = NULL;
	if (text == NULL)
		return sqlite3_column_type(stmt, col) == SQLITE_NULL;
	*out = strdup((const char *)text);
	return *out != NULL;
}

int bridge_store_find_by_cmid(struct bridge_store *s, const char *convo,
                              const char *sender, const char *cmid,
                              struct bridge_message *stored, bool *found)
{
	sqlite3_stmt *stmt = s->stmt[STMT_FIND_BY_CMID];
	const unsigned char *body;
	int rc;

	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, sender);
	bridge_sql_bind_text(stmt, 3, cmid);
	rc = bridge_sql_step_one(stmt, found);
	if (rc != SQLITE_OK || !*found)
		goto done;
	memset(stored, 0, sizeof(*stored));
	snprintf(stored->convo, sizeof(stored->convo), "%s", convo);
	snprintf(stored->from, sizeof(stored->from), "%s", sender);
	snprintf(stored->cmid, sizeof(stored->cmid), "%s", cmid);
	stored->seq = sqlite3_column_int64(stmt, 0);
	stored->id = (uint64_t)sqlite3_column_int64(stmt, 1);
	stored->ts = sqlite3_column_int64(stmt, 2);
	body = sqlite3_column_text(stmt, 3);
	stored->body = strdup(body ? (const char *)body : "");
	if (stored->body == NULL || !dup_column(stmt, 4, &stored->type) ||
	    !dup_column(stmt, 5, &stored->attachments)) {
		bridge_message_clear(stored);
		rc = SQLITE_NOMEM;
	}
done:
	sqlite3_reset(stmt);
	return rc;
}

static void bind_optional_text(sqlite3_stmt *stmt, int index, const char *text)
{
	if (text != NULL)
		bridge_sql_bind_text(stmt, index, text);
	else
		sqlite3_bind_null(stmt, index);
}

/* Indexes the files the message refers to, for the retention sweep. */
static int insert_attachments(struct bridge_store *s,
                              const struct bridge_message *m)
{
	sqlite3_stmt *stmt = s->stmt[STMT_INSERT_ATTACHMENTS];

	bridge_sql_bind_text(stmt, 1, m->convo);
	sqlite3_bind_int64(stmt, 2, m->seq);
	bridge_sql_bind_text(stmt, 3, m->attachments);
	return bridge_sql_run(stmt);
}

int bridge_store_append(struct bridge_store *s, struct bridge_message *m)
{
	sqlite3_stmt *stmt = s->stmt[STMT_INSERT];
	struct bridge_head *head;
	int rc = load_head(s, m->convo, &head);

	if (rc != SQLITE_OK)
		return rc;
	if (bridge_heads_touch(&s->heads, head) != 0)
		return SQLITE_NOMEM;
	m->seq = head->tentative + 1;
	bridge_sql_bind_text(stmt, 1, m->convo);
	sqlite3_bind_int64(stmt, 2, m->seq);
	/* Ids use all 64 bits; SQLite stores them as the same bit pattern. */
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)m->id);
	bridge_sql_bind_text(stmt, 4, m->from);
	bridge_sql_bind_text(stmt, 5, m->cmid);
	sqlite3_bind_int64(stmt, 6, m->ts);
	bridge_sql_bind_text(stmt, 7, m->body);
	bind_optional_text(stmt, 8, m->type);
	bind_optional_text(stmt, 9, m->attachments);
	rc = bridge_sql_run(stmt);
	if (rc == SQLITE_OK && m->attachments != NULL)
		rc = insert_attachments(s, m);
	if (rc == SQLITE_OK)
		head->tentative = m->seq;
	else
		m->seq = 0;
	return rc;
}

/* Reads the current row of a message query into a borrowed view. */
static int read_row(sqlite3_stmt *stmt, const char *convo,
                    struct bridge_message *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->convo, sizeof(m->convo), "%s", convo);
	m->seq = sqlite3_column_int64(stmt, 0);
	m->id = (uint64_t)sqlite3_column_int64(stmt, 1);
	bridge_sql_copy_column(stmt, 2, m->from, sizeof(m->from));
	m->ts = sqlite3_column_int64(stmt, 3);
	bridge_sql_copy_column(stmt, 4, m->cmid, sizeof(m->cmid));
	m->body = (char *)sqlite3_column_text(stmt, 5);
	m->type = (char *)sqlite3_column_text(stmt, 6);
	m->attachments = (char *)sqlite3_column_text(stmt, 7);
	return m->body ? SQLITE_OK : SQLITE_NOMEM;
}

static int read_messages(sqlite3_stmt *stmt, const char *convo,
                         bridge_row_fn fn, void *ctx)
{
	struct bridge_message m;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		rc = read_row(stmt, convo, &m);
		if (rc != SQLITE_OK || !fn(ctx, &m))
			break;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int bridge_store_read_after(struct bridge_store *s, const char *convo,
                            long long after, long long through, long long limit,
                            bridge_row_fn fn, void *ctx)
{
	sqlite3_stmt *stmt = s->stmt[STMT_READ_AFTER];

	bridge_sql_bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, after);
	sqlite3_bind_int64(stmt, 3, through);
	sqlite3_bind_int64(stmt, 4, limit);
	return read_messages(stmt, convo, fn, ctx);
}

int bridge_store_read_before(struct bridge_store *s, const char *convo,
                             long long above, long long before, long long limit,
                             bridge_row_fn fn, void *ctx)
{
	sqlite3_stmt *stmt = s->stmt[STMT_READ_BEFORE];

	bridge_sql_bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, above);
	sqlite3_bind_int64(stmt, 3, before);
	sqlite3_bind_int64(stmt, 4, limit);
	return read_messages(stmt, convo, fn, ctx);
}

static const char *column_or_null(sqlite3_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
}

int bridge_store_conversations_of(struct bridge_store *s, const char *user,
                                  const char *after, long long limit,
                                  bridge_conversation_fn fn, void *ctx)
{
	sqlite3_stmt *stmt = s->stmt[STMT_CONVERSATIONS_OF];
	int rc;

	bridge_sql_bind_text(stmt, 1, user);
	bridge_sql_bind_text(stmt, 2, after);
	sqlite3_bind_int64(stmt, 3, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct bridge_listed_conversation c;
		struct bridge_membership *m = &c.membership;

		c.convo = column_or_null(stmt, 0);
		c.kind = column_or_null(stmt, 1);
		c.title = column_or_null(stmt, 2);
		if (c.convo == NULL || c.kind == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		c.broadcast = sqlite3_column_int(stmt, 3) != 0;
		m->found = true;
		m->admin = sqlite3_column_int(stmt, 4) != 0;
		m->joined_seq = sqlite3_column_int64(stmt, 5);
		m->current = sqlite3_column_type(stmt, 6) == SQLITE_NULL;
		m->left_seq = sqlite3_column_int64(stmt, 6);
		m->delivered_seq = sqlite3_column_int64(stmt, 7);
		m->read_seq = sqlite3_column_int64(stmt, 8);
		c.member_count = sqlite3_column_int64(stmt, 9);
		if (!fn(ctx, &c))
			break;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int bridge_store_members_of(struct bridge_store *s, const char *convo,
                            bridge_member_fn fn, void *ctx)
{
	sqlite3_stmt *stmt = s->stmt[STMT_MEMBERS_OF];
	int rc;

	bridge_sql_bind_text(stmt, 1, convo);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *user = column_or_null(stmt, 0);

		if (user == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (!fn(ctx, user))
			break;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int bridge_store_note_announced(struct bridge_store *s, const char *convo,
                                long long seq)
{
	if (bridge_watermarks_raise(&s->watermarks, convo, seq) != 0)
		return SQLITE_NOMEM;
	return SQLITE_OK;
}

int bridge_store_hold_announced(struct bridge_store *s, const char *convo)
{
	if (bridge_watermarks_hold(&s->watermarks, convo) != 0)
		return SQLITE_NOMEM;
	return SQLITE_OK;
}

bool bridge_store_announced_pending(const struct bridge_store *s)
{
	return bridge_watermarks_pending(&s->watermarks);
}

static int write_watermark(void *ctx, const char *convo, long long seq)
{
	struct bridge_store *s = ctx;
	sqlite3_stmt *stmt = s->stmt[STMT_SET_ANNOUNCED];

	bridge_sql_bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, seq);
	return bridge_sql_run(stmt);
}

int bridge_store_note_presence(struct bridge_store *s, const char *user,
                               bool online, long long last_seen)
{
	if (bridge_presence_updates_note(&s->presence, user, online,
	                                 last_seen) != 0)
		return SQLITE_NOMEM;
	return SQLITE_OK;
}

bool bridge_store_presence_pending(const struct bridge_store *s)
{
	return bridge_presence_updates_pending(&s->presence);
}

static int write_presence(void *ctx, const char *user, bool online,
                          long long last_seen)
{
	struct bridge_store *s = ctx;
	sqlite3_stmt *stmt = s->stmt[STMT_SET_PRESENCE];

	bridge_sql_bind_text(stmt, 1, user);
	sqlite3_bind_int(stmt, 2, online);
	if (last_seen >= 0)
		sqlite3_bind_int64(stmt, 3, last_seen);
	else
		sqlite3_bind_null(stmt, 3);
	return bridge_sql_run(stmt);
}

int bridge_store_write_deferred(struct bridge_store *s)
{
	int rc = bridge_watermarks_write(&s->watermarks, write_watermark, s);

	if (rc == SQLITE_OK)
		rc = bridge_presence_updates_write(&s->presence, write_presence,
		                                   s);
	return rc;
}

/* Outside a transaction only; SQLite ignores it inside one. */
static int set_synchronous(sqlite3 *db, int level)
{
	char sql[32];

	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %d", level);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int bridge_store_flush_deferred(struct bridge_store *s)
{
	bool relaxed = s->synchronous > 1;
	int rc;

	if (!bridge_watermarks_pending(&s->watermarks) &&
	    !bridge_presence_updates_pending(&s->presence))
		return SQLITE_OK;
	/*
	 * A watermark lost to a power cut costs only a few announcements made
	 * again, and a presence lost is corrected by the plugin's next
	 * report, so this commit does not wait for the disk (NORMAL, in WAL
	 * mode: no fsync). The next commit at the configured level makes it
	 * durable along with itself.
	 */
	if (relaxed && (rc = set_synchronous(s->db, 1)) != SQLITE_OK)
		return rc;
	rc = bridge_store_begin(s);
	if (rc == SQLITE_OK)
		rc = bridge_store_write_deferred(s);
	if (rc == SQLITE_OK)
		rc = bridge_store_commit(s);
	if (rc != SQLITE_OK)
		bridge_store_rollback(s);
	if (relaxed)
		set_synchronous(s->db, s->synchronous);
	return rc;
}

/* Passes rows on and remembers whether the reader asked to stop. */
struct unannounced_reader {
	bridge_row_fn fn;
	void *ctx;
	bool stopped;
};

static bool pass_row(void *ctx, const struct bridge_message *m)
{
	struct unannounced_reader *r = ctx;

	if (!r->fn(r->ctx, m))
		r->stopped = true;
	return !r->stopped;
}

int bridge_store_read_unannounced(struct bridge_store *s, long long newest,
                                  bridge_row_fn fn, void *ctx,
                                  struct bridge_unannounced *found)
{
	sqlite3_stmt *list = s->stmt[STMT_UNANNOUNCED];
	struct unannounced_reader reader = {fn, ctx, false};
	int rc = SQLITE_OK;

	memset(found, 0, sizeof(*found));
	while (!reader.stopped && (rc = sqlite3_step(list)) == SQLITE_ROW) {
		char convo[CHAT_ID_MAX + 1];
		long long announced = sqlite3_column_int64(list, 1);
		long long head = sqlite3_column_int64(list, 2);
		long long after = head - newest;

		if (after < announced)
			after = announced;
		bridge_sql_copy_column(list, 0, convo, sizeof(convo));
		found->conversations++;
		found->older += after - announced;
		rc = bridge_store_read_after(s, convo, after, head, newest,
		                             pass_row, &reader);
		if (rc != SQLITE_OK)
			break;
	}
	sqlite3_reset(list);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}
