#include "store_receipts.h"

#include "store_sql.h"

static const char set_cursors_sql[] =
    "UPDATE members SET delivered_seq = ?3, read_seq = ?4"
    " WHERE convo_id = ?1 AND user_id = ?2";
static const char senders_between_sql[] =
    "SELECT sender, MAX(seq) FROM messages WHERE convo_id = ?1"
    " AND seq > ?2 AND seq <= ?3 AND type IS NULL GROUP BY sender";
/* Without statistics the planner would walk the range instead. */
static const char sender_newest_sql[] =
    "SELECT seq FROM messages INDEXED BY messages_by_sender"
    " WHERE convo_id = ?1 AND sender = ?2 AND seq > ?3 AND seq <= ?4"
    " AND type IS NULL ORDER BY seq DESC LIMIT 1";

int bridge_store_set_cursors(struct bridge_store *s, const char *convo,
                             const char *user, long long delivered,
                             long long read)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, set_cursors_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, user);
	sqlite3_bind_int64(stmt, 3, delivered);
	sqlite3_bind_int64(stmt, 4, read);
	return bridge_sql_run(stmt);
}

int bridge_store_senders_between(struct bridge_store *s, const char *convo,
                                 long long after, long long through,
                                 bridge_sender_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, senders_between_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	sqlite3_bind_int64(stmt, 2, after);
	sqlite3_bind_int64(stmt, 3, through);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *sender = (const char *)sqlite3_column_text(stmt, 0);

		if (sender == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		fn(ctx, sender, sqlite3_column_int64(stmt, 1));
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int bridge_store_sender_newest(struct bridge_store *s, const char *convo,
                               const char *sender, long long after,
                               long long through, long long *seq)
{
	sqlite3_stmt *stmt;
	bool found;
	int rc = bridge_sql_statement(s, sender_newest_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, convo);
	bridge_sql_bind_text(stmt, 2, sender);
	sqlite3_bind_int64(stmt, 3, after);
	sqlite3_bind_int64(stmt, 4, through);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc != SQLITE_OK)
		return rc;
	*seq = found ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	return SQLITE_OK;
}
