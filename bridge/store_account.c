#include "store_account.h"

#include "store_sql.h"

#include <string.h>

/* The share test reads the viewer's conversations, then one key lookup
 * each in the subject's memberships. */
static const char visible_presence_sql[] =
    "SELECT s.online, s.last_seen FROM users s WHERE s.id = ?2"
    " AND s.kind = 'user' AND (s.id = ?1 OR (s.hide_presence = 0"
    " AND (SELECT v.hide_presence FROM users v WHERE v.id = ?1) = 0"
    " AND EXISTS (SELECT 1 FROM members a JOIN members b"
    " ON b.convo_id = a.convo_id AND b.user_id = ?2"
    " WHERE a.user_id = ?1 AND a.left_seq IS NULL"
    " AND b.left_seq IS NULL)))";
static const char hides_sql[] = "SELECT hide_presence FROM users WHERE id = ?1";
static const char set_hide_sql[] =
    "UPDATE users SET hide_presence = ?2 WHERE id = ?1";
static const char devices_of_sql[] =
    "SELECT id, label, created_at, revoked_at FROM devices"
    " WHERE user_id = ?1 ORDER BY id";
static const char own_device_sql[] =
    "SELECT revoked_at FROM devices WHERE id = ?2 AND user_id = ?1";
/* The plugin finds the revocation by devices_by_revocation and closes the
 * device's connections. */
static const char revoke_sql[] =
    "UPDATE devices SET revoked_at = ?3 WHERE id = ?2 AND user_id = ?1"
    " AND revoked_at IS NULL";

int bridge_store_visible_presence(struct bridge_store *s, const char *viewer,
                                  const char *subject,
                                  struct bridge_presence_row *out)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, visible_presence_sql, &stmt);

	memset(out, 0, sizeof(*out));
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, viewer);
	bridge_sql_bind_text(stmt, 2, subject);
	rc = bridge_sql_step_one(stmt, &out->found);
	if (rc != SQLITE_OK)
		return rc;
	if (out->found) {
		out->online = sqlite3_column_int(stmt, 0) != 0;
		out->last_seen = sqlite3_column_type(stmt, 1) == SQLITE_NULL
		                     ? -1
		                     : sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_hides_presence(struct bridge_store *s, const char *user,
                                bool *hidden)
{
	sqlite3_stmt *stmt;
	bool found;
	int rc = bridge_sql_statement(s, hides_sql, &stmt);

	*hidden = false;
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc != SQLITE_OK)
		return rc;
	*hidden = found && sqlite3_column_int(stmt, 0) != 0;
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_set_hide_presence(struct bridge_store *s, const char *user,
                                   bool hide)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, set_hide_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	sqlite3_bind_int(stmt, 2, hide);
	return bridge_sql_run(stmt);
}

int bridge_store_devices_of(struct bridge_store *s, const char *user,
                            bridge_device_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, devices_of_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct bridge_device_row d;

		d.id = sqlite3_column_int64(stmt, 0);
		d.label = (const char *)sqlite3_column_text(stmt, 1);
		d.created_at = sqlite3_column_int64(stmt, 2);
		d.revoked_at = sqlite3_column_int64(stmt, 3);
		if (!fn(ctx, &d))
			break;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int bridge_store_own_device(struct bridge_store *s, const char *user,
                            long long device, bool *found,
                            long long *revoked_at)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, own_device_sql, &stmt);

	*revoked_at = 0;
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	sqlite3_bind_int64(stmt, 2, device);
	rc = bridge_sql_step_one(stmt, found);
	if (rc != SQLITE_OK)
		return rc;
	if (*found)
		*revoked_at = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_revoke_device(struct bridge_store *s, const char *user,
                               long long device, long long now_ms)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, revoke_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	sqlite3_bind_int64(stmt, 2, device);
	sqlite3_bind_int64(stmt, 3, now_ms);
	return bridge_sql_run(stmt);
}
