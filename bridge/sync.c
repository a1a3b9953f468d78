/*
 * sync: the messages after a seq, oldest first, for a client catching up.
 * The page covers exactly after+1 .. through, so a client can tell a hole
 * in the log from a message it has not received yet.
 */
#include "page.h"
#include "request_ops.h"

static const struct bridge_failure bad_after = {
    "bad_request", "after must be a non-negative integer"};

struct sync_answer {
	const char *convo;
	long long after;
	long long through;
	long long head;
	bool more;
};

static void write_sync(struct bridge_reply *r, const struct sync_answer *a,
                       const struct bridge_page *page)
{
	struct json_writer *w = r->out;

	bridge_reply_open(r);
	json_writer_key(w, "convo");
	json_writer_string(w, a->convo);
	json_writer_key(w, "after");
	json_writer_int(w, a->after);
	json_writer_key(w, "through");
	json_writer_int(w, a->through);
	json_writer_key(w, "head");
	json_writer_int(w, a->head);
	json_writer_key(w, "more");
	json_writer_bool(w, a->more);
	json_writer_key(w, "messages");
	bridge_page_write(page, w, false);
	json_writer_close_object(w);
}

/*
 * Bytes the response takes without messages. Written with through = head
 * and more = false, the longest values they can take, so the real response
 * is never larger than measured.
 */
static size_t skeleton_length(struct bridge_reply *r,
                              const struct sync_answer *a)
{
	struct json_writer_mark mark = json_writer_mark(r->out);
	struct sync_answer widest = *a;
	struct bridge_page empty;
	size_t len;

	widest.through = a->head;
	widest.more = false;
	bridge_page_init(&empty, 0, 0);
	write_sync(r, &widest, &empty);
	len = r->out->len - mark.len;
	json_writer_rewind(r->out, mark);
	bridge_page_free(&empty);
	return len;
}

static const struct bridge_failure *read_page(struct bridge_reply *r,
                                              struct sync_answer *a,
                                              long long joined_seq,
                                              long long limit)
{
	long long from = a->after > joined_seq ? a->after : joined_seq;
	struct bridge_page page;
	const struct bridge_failure *failure = NULL;
	int rc;

	bridge_page_init(&page, limit,
	                 bridge_reply_page_budget(r, skeleton_length(r, a)));
	rc = bridge_store_read_after(r->store, a->convo, from, a->head, limit,
	                             bridge_page_add, &page);
	if (rc != SQLITE_OK) {
		failure = bridge_reply_store_failed(r, rc);
		goto done;
	}
	if (page.failed) {
		failure = &bridge_failure_internal;
		goto done;
	}
	/* An empty page covers nothing new: up to the head, or nothing at
	 * all for a client that claims more than exists. */
	if (page.count)
		a->through = page.high_seq;
	else
		a->through = a->head > a->after ? a->head : a->after;
	a->more = a->through < a->head;
	write_sync(r, a, &page);
done:
	bridge_page_free(&page);
	return failure;
}

const struct bridge_failure *bridge_op_sync(struct bridge_reply *r)
{
	struct sync_answer a = {0};
	const struct bridge_failure *failure;
	struct bridge_view view;
	long long limit;

	failure = bridge_param_visible_convo(r, &a.convo, &view);
	if (failure == NULL)
		failure =
		    bridge_param_count(r, "after", 0, &bad_after, &a.after);
	if (failure == NULL)
		failure = bridge_param_limit(r, &limit);
	if (failure != NULL)
		return failure;
	/* A former member's head is the message that ended its membership:
	 * its sync is complete there. */
	a.head = view.head;
	return read_page(r, &a, view.joined, limit);
}
