/*
 * Looking into a test server's SQLite file, read-only, while the server
 * runs: what the log really holds.
 */
#include "harness.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

static sqlite3_stmt *prepare(struct chat_server *srv, sqlite3 **db,
                             const char *sql)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_open_v2(srv->db_path, db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		test_log("cannot open %s: %s", srv->db_path,
		         *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return NULL;
	}
	sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	if (sqlite3_prepare_v2(*db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		test_log("%s: %s", sql, sqlite3_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
	}
	return stmt;
}

static void finish(sqlite3 *db, sqlite3_stmt *stmt)
{
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

long long test_db_integer(struct chat_server *srv, const char *sql,
                          const char *const params[])
{
	sqlite3 *db;
	sqlite3_stmt *stmt = prepare(srv, &db, sql);
	long long n = -1;

	if (stmt == NULL)
		return -1;
	for (int i = 0; params[i]; i++)
		sqlite3_bind_text(stmt, i + 1, params[i], -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	else
		test_log("%s: %s", sql, sqlite3_errmsg(db));
	finish(db, stmt);
	return n;
}

static int count_rows(struct chat_server *srv, const char *sql,
                      const char *const params[])
{
	return (int)test_db_integer(srv, sql, params);
}

int test_db_count_messages(struct chat_server *srv, const char *convo)
{
	const char *const params[] = {convo, NULL};

	return count_rows(
	    srv, "SELECT count(*) FROM messages WHERE convo_id = ?", params);
}

int test_db_count_cmid(struct chat_server *srv, const char *convo,
                       const char *sender, const char *cmid)
{
	const char *const params[] = {convo, sender, cmid, NULL};

	return count_rows(srv,
	                  "SELECT count(*) FROM messages WHERE convo_id = ?"
	                  " AND sender = ? AND cmid = ?",
	                  params);
}

int test_db_seqs(struct chat_server *srv, const char *convo, long **seqs,
                 size_t *count)
{
	sqlite3 *db;
	sqlite3_stmt *stmt =
	    prepare(srv, &db,
	            "SELECT seq FROM messages WHERE convo_id = ? ORDER BY seq");
	size_t n = 0, capacity = 0;
	long *out = NULL;
	int rc;

	*seqs = NULL;
	*count = 0;
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == capacity) {
			capacity = capacity ? capacity * 2 : 256;
			long *bigger = realloc(out, capacity * sizeof(*out));

			if (bigger == NULL)
				break;
			out = bigger;
		}
		out[n++] = (long)sqlite3_column_int64(stmt, 0);
	}
	finish(db, stmt);
	if (rc != SQLITE_DONE) {
		free(out);
		return -1;
	}
	*seqs = out;
	*count = n;
	return 0;
}

static void copy_column(sqlite3_stmt *stmt, int col, char *out, size_t outlen)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	snprintf(out, outlen, "%s", text ? (const char *)text : "");
}

int test_db_message(struct chat_server *srv, const char *convo, long seq,
                    struct test_db_message *out)
{
	sqlite3 *db;
	sqlite3_stmt *stmt =
	    prepare(srv, &db,
	            "SELECT sender, cmid, id, ts, body, type FROM messages"
	            " WHERE convo_id = ? AND seq = ?");
	const unsigned char *body;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, seq);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		out->seq = seq;
		copy_column(stmt, 0, out->sender, sizeof(out->sender));
		copy_column(stmt, 1, out->cmid, sizeof(out->cmid));
		copy_column(stmt, 2, out->id, sizeof(out->id));
		out->ts = sqlite3_column_int64(stmt, 3);
		copy_column(stmt, 5, out->type, sizeof(out->type));
		body = sqlite3_column_text(stmt, 4);
		out->body = strdup(body ? (const char *)body : "");
		rc = out->body ? 0 : -1;
	}
	finish(db, stmt);
	return rc;
}

int test_db_member(struct chat_server *srv, const char *convo, const char *user,
                   struct test_db_member *out)
{
	sqlite3 *db;
	sqlite3_stmt *stmt = prepare(
	    srv, &db,
	    "SELECT role, joined_seq, COALESCE(left_seq, -1), delivered_seq,"
	    " read_seq FROM members WHERE convo_id = ? AND user_id = ?");
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, user, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		copy_column(stmt, 0, out->role, sizeof(out->role));
		out->joined = (long)sqlite3_column_int64(stmt, 1);
		out->left = (long)sqlite3_column_int64(stmt, 2);
		out->delivered = (long)sqlite3_column_int64(stmt, 3);
		out->read = (long)sqlite3_column_int64(stmt, 4);
		rc = 0;
	}
	finish(db, stmt);
	return rc;
}
