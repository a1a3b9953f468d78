#include "admin.h"

#include "db.h"
#include "log.h"
#include "request.h"
#include "store_admin.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* The request as stored, parsed; NULL when it is not a JSON object. */
static cJSON *parse_request(const char *text)
{
	size_t len = strlen(text);
	cJSON *req;

	if (!chat_json_text_acceptable(text, len))
		return NULL;
	req = chat_json_parse_exact(text, len);
	if (cJSON_IsObject(req))
		return req;
	cJSON_Delete(req);
	return NULL;
}

/* Answers one row; false when it stays waiting. */
static bool run_one(struct bridge_store *s, const struct chat_options *opts,
                    const struct bridge_admin_row *row,
                    struct bridge_entries *announce)
{
	struct bridge_admin_context admin = {s, opts, row->id, row->actor};
	struct json_writer out;
	cJSON *req = parse_request(row->request);
	bool answered = false;
	int rc = SQLITE_OK;

	json_writer_init(&out);
	if (bridge_request_respond_admin(&admin, req, &out, announce,
	                                 &answered) != 0) {
		bridge_error("out of memory answering admin request %lld",
		             row->id);
		rc = SQLITE_NOMEM;
	} else if (!answered) {
		rc = bridge_store_admin_answer(s, row->id, out.data, out.len,
		                               chat_now_ms());
		if (rc != SQLITE_OK)
			bridge_warning("cannot store the answer to admin "
			               "request %lld: %s; trying again",
			               row->id, sqlite3_errstr(rc));
	}
	if (rc == SQLITE_OK)
		bridge_info("admin request %lld by %s answered: %.200s",
		            row->id, row->actor, out.data);
	json_writer_free(&out);
	cJSON_Delete(req);
	return rc == SQLITE_OK;
}

size_t bridge_admin_run(struct bridge_store *s, const struct chat_options *opts,
                        struct bridge_entries *announce)
{
	struct bridge_admin_row rows[BRIDGE_ADMIN_BATCH];
	size_t count = 0, answered = 0;
	int rc;

	/* Read first, run after: no statement stays open across the
	 * changes' transactions. */
	rc = bridge_store_admin_waiting(s, rows, BRIDGE_ADMIN_BATCH, &count);
	if (rc != SQLITE_OK) {
		bridge_debug("cannot read admin requests: %s",
		             sqlite3_errstr(rc));
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		if (run_one(s, opts, &rows[i], announce))
			answered++;
		free(rows[i].request);
	}
	return answered;
}
