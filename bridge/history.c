/*
 * history: pages backwards from a seq, for scrolling up. Rows are read
 * newest first, so a full page holds the newest messages below `before`,
 * and returned oldest first like every other list of messages.
 */
#include "page.h"
#include "request_ops.h"

static const struct bridge_failure bad_before = {
    "bad_request", "before must be a non-negative integer"};

struct history_answer {
	const char *convo;
	long long before;
	long long from;
	long long head;
	bool more;
};

static void write_history(struct bridge_reply *r,
                          const struct history_answer *a,
                          const struct bridge_page *page)
{
	struct json_writer *w = r->out;

	bridge_reply_open(r);
	json_writer_key(w, "convo");
	json_writer_string(w, a->convo);
	json_writer_key(w, "before");
	json_writer_int(w, a->before);
	json_writer_key(w, "from");
	json_writer_int(w, a->from);
	json_writer_key(w, "head");
	json_writer_int(w, a->head);
	json_writer_key(w, "more");
	json_writer_bool(w, a->more);
	json_writer_key(w, "messages");
	bridge_page_write(page, w, true);
	json_writer_close_object(w);
}

/* Bytes the response takes without messages; from = before and more =
 * false are the longest values those fields can take. */
static size_t skeleton_length(struct bridge_reply *r,
                              const struct history_answer *a)
{
	struct json_writer_mark mark = json_writer_mark(r->out);
	struct history_answer widest = *a;
	struct bridge_page empty;
	size_t len;

	widest.from = a->before;
	widest.more = false;
	bridge_page_init(&empty, 0, 0);
	write_history(r, &widest, &empty);
	len = r->out->len - mark.len;
	json_writer_rewind(r->out, mark);
	bridge_page_free(&empty);
	return len;
}

static const struct bridge_failure *read_page(struct bridge_reply *r,
                                              struct history_answer *a,
                                              long long joined_seq,
                                              long long limit)
{
	struct bridge_page page;
	const struct bridge_failure *failure = NULL;
	int rc;

	bridge_page_init(&page, limit,
	                 bridge_reply_page_budget(r, skeleton_length(r, a)));
	/* One row beyond the limit tells whether older messages remain. */
	rc = bridge_store_read_before(r->store, a->convo, joined_seq, a->before,
	                              limit + 1, bridge_page_add, &page);
	if (rc != SQLITE_OK) {
		failure = bridge_reply_store_failed(r, rc);
		goto done;
	}
	if (page.failed) {
		failure = &bridge_failure_internal;
		goto done;
	}
	a->from = page.count ? page.low_seq : a->before;
	a->more = page.full;
	write_history(r, a, &page);
done:
	bridge_page_free(&page);
	return failure;
}

const struct bridge_failure *bridge_op_history(struct bridge_reply *r)
{
	struct history_answer a = {0};
	const struct bridge_failure *failure;
	struct bridge_view view;
	long long limit;

	failure = bridge_param_visible_convo(r, &a.convo, &view);
	if (failure == NULL)
		failure = bridge_param_limit(r, &limit);
	if (failure != NULL)
		return failure;
	a.head = view.head;
	failure =
	    bridge_param_count(r, "before", a.head + 1, &bad_before, &a.before);
	if (failure != NULL)
		return failure;
	/* Nothing exists above the head: the page never claims to cover it. */
	if (a.before > a.head + 1)
		a.before = a.head + 1;
	return read_page(r, &a, view.joined, limit);
}
