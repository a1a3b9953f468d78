#include "store_media.h"

#include "store_sql.h"

#include <stdio.h>
#include <string.h>

static const char quota_sql[] =
    "SELECT COALESCE(SUM(MAX(size, ?2)), 0) FROM uploads WHERE user_id = ?1";
static const char add_upload_sql[] =
    "INSERT INTO uploads (id, user_id, convo_id, size, hash, type,"
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char upload_sql[] =
    "SELECT user_id, convo_id, size, hash, type, created_at, blob"
    " FROM uploads WHERE id = ?1";
static const char add_blob_sql[] =
    "INSERT INTO blobs (hash, size, uploaded_at) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (hash) DO UPDATE SET uploaded_at = excluded.uploaded_at";
static const char add_blob_conversation_sql[] =
    "INSERT OR IGNORE INTO blob_conversations (blob, convo_id)"
    " VALUES (?1, ?2)";
static const char finish_upload_sql[] =
    "UPDATE uploads SET blob = ?2, finished_at = ?3 WHERE id = ?1";
/* The user's quota counts a file once. */
static const char drop_repeated_upload_sql[] =
    "DELETE FROM uploads WHERE id = ?1 AND EXISTS (SELECT 1 FROM uploads"
    " WHERE blob = ?2 AND user_id = ?3 AND id != ?1)";
static const char delete_upload_sql[] = "DELETE FROM uploads WHERE id = ?1";
static const char readable_sql[] =
    "SELECT b.size, EXISTS (SELECT 1 FROM blob_conversations c"
    " JOIN members m ON m.convo_id = c.convo_id AND m.user_id = ?1"
    " AND m.left_seq IS NULL WHERE c.blob = b.hash)"
    " FROM blobs b WHERE b.hash = ?2";
static const char unkept_sql[] =
    "SELECT hash FROM blobs WHERE kept = 0 AND uploaded_at < ?1"
    " ORDER BY uploaded_at LIMIT ?2";
static const char referenced_sql[] =
    "SELECT 1 FROM message_attachments WHERE blob = ?1 LIMIT 1";
static const char keep_sql[] = "UPDATE blobs SET kept = 1 WHERE hash = ?1";
static const char delete_blob_uploads_sql[] =
    "DELETE FROM uploads WHERE blob = ?1";
static const char delete_blob_conversations_sql[] =
    "DELETE FROM blob_conversations WHERE blob = ?1";
static const char delete_blob_sql[] = "DELETE FROM blobs WHERE hash = ?1";
static const char stale_uploads_sql[] =
    "SELECT id FROM uploads WHERE blob IS NULL AND created_at < ?1"
    " ORDER BY created_at LIMIT ?2";

/* Runs sql, binding text to ?1 and, when not NULL, second to ?2. */
static int run_text(struct bridge_store *s, const char *sql, const char *text,
                    const char *second)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, text);
	if (second != NULL)
		bridge_sql_bind_text(stmt, 2, second);
	return bridge_sql_run(stmt);
}

int bridge_store_quota_used(struct bridge_store *s, const char *user,
                            long long file_min, long long *bytes)
{
	sqlite3_stmt *stmt;
	bool found;
	int rc = bridge_sql_statement(s, quota_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	sqlite3_bind_int64(stmt, 2, file_min);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc != SQLITE_OK)
		return rc;
	*bytes = found ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_add_upload(struct bridge_store *s,
                            const struct bridge_upload *u)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, add_upload_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, u->id);
	bridge_sql_bind_text(stmt, 2, u->user);
	bridge_sql_bind_text(stmt, 3, u->convo);
	sqlite3_bind_int64(stmt, 4, u->size);
	bridge_sql_bind_text(stmt, 5, u->hash);
	if (u->type[0] != '\0')
		bridge_sql_bind_text(stmt, 6, u->type);
	else
		sqlite3_bind_null(stmt, 6);
	sqlite3_bind_int64(stmt, 7, u->created_at);
	return bridge_sql_run(stmt);
}

int bridge_store_upload(struct bridge_store *s, const char *id,
                        struct bridge_upload *out)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, upload_sql, &stmt);

	memset(out, 0, sizeof(*out));
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, id);
	rc = bridge_sql_step_one(stmt, &out->found);
	if (rc != SQLITE_OK)
		return rc;
	if (out->found) {
		snprintf(out->id, sizeof(out->id), "%s", id);
		bridge_sql_copy_column(stmt, 0, out->user, sizeof(out->user));
		bridge_sql_copy_column(stmt, 1, out->convo, sizeof(out->convo));
		out->size = sqlite3_column_int64(stmt, 2);
		bridge_sql_copy_column(stmt, 3, out->hash, sizeof(out->hash));
		bridge_sql_copy_column(stmt, 4, out->type, sizeof(out->type));
		out->created_at = sqlite3_column_int64(stmt, 5);
		bridge_sql_copy_column(stmt, 6, out->blob, sizeof(out->blob));
	}
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_finish_upload(struct bridge_store *s,
                               const struct bridge_upload *u, const char *blob,
                               long long now_ms)
{
	sqlite3_stmt *add, *finish, *repeated;
	int rc = bridge_sql_statement(s, add_blob_sql, &add);

	if (rc == SQLITE_OK)
		rc = bridge_sql_statement(s, finish_upload_sql, &finish);
	if (rc == SQLITE_OK)
		rc = bridge_sql_statement(s, drop_repeated_upload_sql,
		                          &repeated);
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(add, 1, blob);
	sqlite3_bind_int64(add, 2, u->size);
	sqlite3_bind_int64(add, 3, now_ms);
	rc = bridge_sql_run(add);
	if (rc == SQLITE_OK)
		rc = run_text(s, add_blob_conversation_sql, blob, u->convo);
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(finish, 1, u->id);
	bridge_sql_bind_text(finish, 2, blob);
	sqlite3_bind_int64(finish, 3, now_ms);
	rc = bridge_sql_run(finish);
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(repeated, 1, u->id);
	bridge_sql_bind_text(repeated, 2, blob);
	bridge_sql_bind_text(repeated, 3, u->user);
	return bridge_sql_run(repeated);
}

int bridge_store_delete_upload(struct bridge_store *s, const char *id)
{
	return run_text(s, delete_upload_sql, id, NULL);
}

int bridge_store_readable_blob(struct bridge_store *s, const char *user,
                               const char *blob, bool *readable,
                               long long *size)
{
	sqlite3_stmt *stmt;
	bool found;
	int rc = bridge_sql_statement(s, readable_sql, &stmt);

	*readable = false;
	*size = 0;
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	bridge_sql_bind_text(stmt, 2, blob);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc != SQLITE_OK)
		return rc;
	if (found) {
		*size = sqlite3_column_int64(stmt, 0);
		*readable = sqlite3_column_int(stmt, 1) != 0;
	}
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

/* Runs a query of ids bound to (before_ms, limit). */
static int each_id(struct bridge_store *s, const char *sql, long long before_ms,
                   long long limit, bridge_id_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(stmt, 1, before_ms);
	sqlite3_bind_int64(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);

		if (id == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (!fn(ctx, id))
			break;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int bridge_store_unkept_blobs(struct bridge_store *s, long long before_ms,
                              long long limit, bridge_id_fn fn, void *ctx)
{
	return each_id(s, unkept_sql, before_ms, limit, fn, ctx);
}

int bridge_store_blob_referenced(struct bridge_store *s, const char *blob,
                                 bool *referenced)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, referenced_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, blob);
	rc = bridge_sql_step_one(stmt, referenced);
	if (rc == SQLITE_OK)
		sqlite3_reset(stmt);
	return rc;
}

int bridge_store_keep_blob(struct bridge_store *s, const char *blob)
{
	return run_text(s, keep_sql, blob, NULL);
}

int bridge_store_delete_blob(struct bridge_store *s, const char *blob)
{
	int rc = run_text(s, delete_blob_uploads_sql, blob, NULL);

	if (rc == SQLITE_OK)
		rc = run_text(s, delete_blob_conversations_sql, blob, NULL);
	if (rc == SQLITE_OK)
		rc = run_text(s, delete_blob_sql, blob, NULL);
	return rc;
}

int bridge_store_stale_uploads(struct bridge_store *s, long long before_ms,
                               long long limit, bridge_id_fn fn, void *ctx)
{
	return each_id(s, stale_uploads_sql, before_ms, limit, fn, ctx);
}
