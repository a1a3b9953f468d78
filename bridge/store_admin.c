#include "store_admin.h"

#include "store_sql.h"

#include <stdlib.h>
#include <string.h>

/* The partial index admin_requests_waiting holds only these rows. */
static const char waiting_sql[] =
    "SELECT id, actor, request FROM admin_requests WHERE done_at IS NULL"
    " ORDER BY id LIMIT ?1";
static const char answer_sql[] =
    "UPDATE admin_requests SET response = ?2, done_at = ?3"
    " WHERE id = ?1 AND done_at IS NULL";

static void free_rows(struct bridge_admin_row *rows, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(rows[i].request);
		rows[i].request = NULL;
	}
}

int bridge_store_admin_waiting(struct bridge_store *s,
                               struct bridge_admin_row *rows, size_t max,
                               size_t *count)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, waiting_sql, &stmt);

	*count = 0;
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)max);
	while (*count < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct bridge_admin_row *row = &rows[*count];
		const unsigned char *text = sqlite3_column_text(stmt, 2);

		row->id = sqlite3_column_int64(stmt, 0);
		bridge_sql_copy_column(stmt, 1, row->actor, sizeof(row->actor));
		row->request = strdup(text ? (const char *)text : "");
		if (row->request == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		(*count)++;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return SQLITE_OK;
	free_rows(rows, *count);
	*count = 0;
	return rc;
}

int bridge_store_admin_answer(struct bridge_store *s, long long id,
                              const char *response, size_t len,
                              long long now_ms)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, answer_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, response, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now_ms);
	return bridge_sql_run(stmt);
}
