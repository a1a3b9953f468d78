#include "store_members.h"

#include "store_sql.h"

#include <stdio.h>
#include <string.h>

static const char conversation_sql[] =
    "SELECT kind, broadcast FROM conversations WHERE id = ?1";
static const char user_exists_sql[] =
    "SELECT 1 FROM users WHERE id = ?1 AND kind = 'user'";
static const char find_direct_sql[] =
    "SELECT id FROM conversations WHERE direct_key = ?1";
static const char create_sql[] =
    "INSERT INTO conversations (id, kind, title, direct_key, broadcast,"
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char set_title_sql[] =
    "UPDATE conversations SET title = ?2 WHERE id = ?1";
static const char set_broadcast_sql[] =
    "UPDATE conversations SET broadcast = 1 WHERE id = ?1";
static const char join_sql[] =
    "INSERT INTO members (convo_id, user_id, role, joined_seq, left_seq,"
    " delivered_seq, read_seq) VALUES (?1, ?2, ?3, ?4, NULL, ?4, ?4)"
    " ON CONFLICT (convo_id, user_id) DO UPDATE SET role = excluded.role,"
    " joined_seq = excluded.joined_seq, left_seq = NULL,"
    " delivered_seq = excluded.delivered_seq,"
    " read_seq = excluded.read_seq";
static const char depart_sql[] =
    "UPDATE members SET left_seq = ?3 WHERE convo_id = ?1 AND user_id = ?2"
    " AND left_seq IS NULL";
static const char set_role_sql[] =
    "UPDATE members SET role = ?3 WHERE convo_id = ?1 AND user_id = ?2";
static const char count_sql[] =
    "SELECT COUNT(*), COALESCE(SUM(role = 'admin'), 0) FROM members"
    " WHERE convo_id = ?1 AND left_seq IS NULL";
static const char oldest_sql[] =
    "SELECT user_id FROM members WHERE convo_id = ?1 AND left_seq IS NULL"
    " ORDER BY joined_seq, user_id LIMIT 1";
/* The partial index messages_by_operation covers system messages only. */
static const char find_operation_sql[] =
    "SELECT convo_id, seq FROM messages WHERE sender = ?1 AND cmid = ?2"
    " AND type IS NOT NULL AND type = ?3 LIMIT 1";
static const char each_member_sql[] =
    "SELECT user_id, role = 'admin', joined_seq, left_seq, delivered_seq,"
    " read_seq FROM members WHERE convo_id = ?1 ORDER BY user_id";

static const char *role_name(bool admin)
{
	return admin ? "admin" : "member";
}

int bridge_store_conversation(struct bridge_store *s, const char *convo,
                              struct bridge_conversation *out)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, conversation_sql, &stmt);

	memset(out, 0, sizeof(*out));
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	rc = bridge_sql_step_one(stmt, &out->found);
	if (rc != SQLITE_OK)
		return rc;
	if (out->found) {
		bridge_sql_copy_column(stmt, 0, out->kind, sizeof(out->kind));
		out->broadcast = sqlite3_column_int(stmt, 1) != 0;
	}
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

/* Runs a one-row query binding text parameters; *found tells whether it
 * returned a row, whose first column goes to out (when not NULL). */
static int lookup(struct bridge_store *s, const char *sql, const char *first,
                  const char *second, char *out, size_t outlen, bool *found)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, first);
	if (second != NULL)
		bridge_sql_bind_text(stmt, 2, second);
	rc = bridge_sql_step_one(stmt, found);
	if (rc != SQLITE_OK)
		return rc;
	if (*found && out != NULL)
		bridge_sql_copy_column(stmt, 0, out, outlen);
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_user_exists(struct bridge_store *s, const char *user,
                             bool *exists)
{
	return lookup(s, user_exists_sql, user, NULL, NULL, 0, exists);
}

int bridge_store_find_direct(struct bridge_store *s, const char *key,
                             char convo[CHAT_ID_MAX + 1], bool *found)
{
	return lookup(s, find_direct_sql, key, NULL, convo, CHAT_ID_MAX + 1,
	              found);
}

int bridge_store_oldest_member(struct bridge_store *s, const char *convo,
                               char user[CHAT_ID_MAX + 1], bool *found)
{
	return lookup(s, oldest_sql, convo, NULL, user, CHAT_ID_MAX + 1, found);
}

static void bind_text_or_null(sqlite3_stmt *stmt, int index, const char *text)
{
	if (text != NULL)
		bridge_sql_bind_text(stmt, index, text);
	else
		sqlite3_bind_null(stmt, index);
}

int bridge_store_create_conversation(struct bridge_store *s, const char *convo,
                                     const char *kind, const char *title,
                                     const char *direct_key, bool broadcast,
                                     long long now_ms)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, create_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, kind);
	bind_text_or_null(stmt, 3, title);
	bind_text_or_null(stmt, 4, direct_key);
	sqlite3_bind_int(stmt, 5, broadcast);
	sqlite3_bind_int64(stmt, 6, now_ms);
	return bridge_sql_run(stmt);
}

/* Updates one member row: ?3 is the role when given, else number. */
static int change_member(struct bridge_store *s, const char *sql,
                         const char *convo, const char *user, const char *role,
                         long long number)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, user);
	if (role != NULL)
		bridge_sql_bind_text(stmt, 3, role);
	else
		sqlite3_bind_int64(stmt, 3, number);
	return bridge_sql_run(stmt);
}

int bridge_store_set_title(struct bridge_store *s, const char *convo,
                           const char *title)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, set_title_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, title);
	return bridge_sql_run(stmt);
}

int bridge_store_set_broadcast(struct bridge_store *s, const char *convo)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, set_broadcast_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	return bridge_sql_run(stmt);
}

int bridge_store_join(struct bridge_store *s, const char *convo,
                      const char *user, bool admin, long long joined_seq)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, join_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, user);
	bridge_sql_bind_text(stmt, 3, role_name(admin));
	sqlite3_bind_int64(stmt, 4, joined_seq);
	return bridge_sql_run(stmt);
}

int bridge_store_depart(struct bridge_store *s, const char *convo,
                        const char *user, long long left_seq)
{
	return change_member(s, depart_sql, convo, user, NULL, left_seq);
}

int bridge_store_set_role(struct bridge_store *s, const char *convo,
                          const char *user, bool admin)
{
	return change_member(s, set_role_sql, convo, user, role_name(admin), 0);
}

int bridge_store_count_members(struct bridge_store *s, const char *convo,
                               long long *members, long long *admins)
{
	sqlite3_stmt *stmt;
	bool found;
	int rc = bridge_sql_statement(s, count_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc != SQLITE_OK)
		return rc;
	*members = found ? sqlite3_column_int64(stmt, 0) : 0;
	*admins = found ? sqlite3_column_int64(stmt, 1) : 0;
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_find_operation(struct bridge_store *s, const char *sender,
                                const char *cmid, const char *type,
                                char convo[CHAT_ID_MAX + 1], long long *seq,
                                bool *found)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, find_operation_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, sender);
	bridge_sql_bind_text(stmt, 2, cmid);
	bridge_sql_bind_text(stmt, 3, type);
	rc = bridge_sql_step_one(stmt, found);
	if (rc != SQLITE_OK)
		return rc;
	if (*found) {
		bridge_sql_copy_column(stmt, 0, convo, CHAT_ID_MAX + 1);
		*seq = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_each_member(struct bridge_store *s, const char *convo,
                             bridge_member_row_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, each_member_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct bridge_member_row row;
		struct bridge_membership *m = &row.membership;

		row.user = (const char *)sqlite3_column_text(stmt, 0);
		if (row.user == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		m->found = true;
		m->admin = sqlite3_column_int(stmt, 1) != 0;
		m->joined_seq = sqlite3_column_int64(stmt, 2);
		m->current = sqlite3_column_type(stmt, 3) == SQLITE_NULL;
		m->left_seq = sqlite3_column_int64(stmt, 3);
		m->delivered_seq = sqlite3_column_int64(stmt, 4);
		m->read_seq = sqlite3_column_int64(stmt, 5);
		if (!fn(ctx, &row))
			break;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}
