#include "receipts.h"

#include "log.h"
#include "store_members.h"
#include "store_receipts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cursors of one member that a receipt moved. */
struct move {
	const char *user; /* the receipt's */
	long long from_delivered;
	long long delivered;
	long long from_read;
	long long read;
};

/* A member of the conversation, after the moves, also as a sender. */
struct reader {
	char user[CHAT_ID_MAX + 1];
	struct bridge_membership m;
	long long newest; /* its newest message the moves covered, or 0 */
};

/* One conversation's share of the batch. */
struct conversation {
	struct bridge_store *s;
	const char *convo;
	struct move *moves;
	size_t move_count;
	struct reader *readers; /* by user id */
	size_t reader_count;
	size_t reader_cap;
	bool no_memory;    /* for the readers */
	const char *acker; /* whose range is being looked at */
	struct bridge_entries *out;
};

/* A seq range after < seq <= through. */
struct range {
	long long after;
	long long through;
};

static int compare_receipts(const void *a, const void *b)
{
	const struct bridge_receipt *x = a, *y = b;
	int c = strcmp(x->convo, y->convo);

	return c != 0 ? c : strcmp(x->user, y->user);
}

static long long larger(long long a, long long b)
{
	return a > b ? a : b;
}

static long long smaller(long long a, long long b)
{
	return a < b ? a : b;
}

/* Sorts by (convo, user) and merges each pair's receipts into one. */
static void merge_receipts(struct bridge_receipt_queue *q)
{
	size_t kept = 0;

	if (q->count == 0)
		return;
	qsort(q->receipts, q->count, sizeof(*q->receipts), compare_receipts);
	for (size_t i = 1; i < q->count; i++) {
		struct bridge_receipt *last = &q->receipts[kept];
		const struct bridge_receipt *r = &q->receipts[i];

		if (compare_receipts(last, r) == 0) {
			last->delivered = larger(last->delivered, r->delivered);
			last->read = larger(last->read, r->read);
		} else {
			q->receipts[++kept] = *r;
		}
	}
	q->count = kept + 1;
}

/* The ranges a move covered: what became read, and what became
 * delivered; one range when they touch. */
static size_t covered_ranges(const struct move *m, struct range out[2])
{
	size_t n = 0;

	if (m->read > m->from_read)
		out[n++] = (struct range){m->from_read, m->read};
	if (m->delivered > m->from_delivered)
		out[n++] = (struct range){m->from_delivered, m->delivered};
	if (n == 2 && out[1].after <= out[0].through) {
		out[0].through = larger(out[0].through, out[1].through);
		n = 1;
	}
	return n;
}

static bool covers(const struct move *m, long long seq)
{
	struct range ranges[2];
	size_t n = covered_ranges(m, ranges);

	for (size_t i = 0; i < n; i++)
		if (ranges[i].after < seq && seq <= ranges[i].through)
			return true;
	return false;
}

/*
 * Moves one member's cursors: delivered goes to the largest of what is
 * stored, delivered and read, read to the largest of what is stored and
 * read; neither past the newest seq the member may see, read not past
 * delivered, and nothing backwards. *moved tells whether anything did.
 */
static int move_cursors(struct conversation *c, const struct bridge_receipt *r,
                        long long head, struct move *m, bool *moved)
{
	struct bridge_membership member;
	long long visible;
	int rc = bridge_store_membership(c->s, c->convo, r->user, &member);

	*moved = false;
	if (rc != SQLITE_OK)
		return rc;
	if (!member.found) {
		bridge_client_warning("dropped a receipt of %s for %s: not a "
		                      "member",
		                      r->user, c->convo);
		return SQLITE_OK;
	}
	visible = bridge_membership_head(&member, head);
	m->user = r->user;
	m->from_delivered = member.delivered_seq;
	m->from_read = member.read_seq;
	m->delivered = larger(m->from_delivered,
	                      smaller(larger(r->delivered, r->read), visible));
	m->read = larger(m->from_read, smaller(r->read, m->delivered));
	if (m->delivered == m->from_delivered && m->read == m->from_read)
		return SQLITE_OK;
	*moved = true;
	return bridge_store_set_cursors(c->s, c->convo, r->user, m->delivered,
	                                m->read);
}

static bool keep_reader(void *ctx, const struct bridge_member_row *row)
{
	struct conversation *c = ctx;
	struct reader *grown, *reader;

	if (c->reader_count == c->reader_cap) {
		size_t cap = c->reader_cap ? c->reader_cap * 2 : 16;

		grown = realloc(c->readers, cap * sizeof(*grown));
		if (grown == NULL) {
			c->no_memory = true;
			return false;
		}
		c->readers = grown;
		c->reader_cap = cap;
	}
	reader = &c->readers[c->reader_count++];
	snprintf(reader->user, sizeof(reader->user), "%s", row->user);
	reader->m = row->membership;
	reader->newest = 0;
	return true;
}

static int compare_reader(const void *user, const void *reader)
{
	return strcmp(user, ((const struct reader *)reader)->user);
}

static struct reader *find_reader(struct conversation *c, const char *user)
{
	return bsearch(user, c->readers, c->reader_count, sizeof(*c->readers),
	               compare_reader);
}

static void note_sender(void *ctx, const char *sender, long long seq)
{
	struct conversation *c = ctx;
	struct reader *r;

	if (strcmp(sender, c->acker) == 0)
		return;
	r = find_reader(c, sender);
	if (r != NULL)
		r->newest = larger(r->newest, seq);
}

/*
 * Finds, for every sender other than the acking member, its newest
 * message in the range: by reading the range when it is shorter than the
 * member list, else by one index lookup per member.
 */
static int find_senders(struct conversation *c, const struct range *range)
{
	int rc = SQLITE_OK;

	if (range->through - range->after <= (long long)c->reader_count)
		return bridge_store_senders_between(
		    c->s, c->convo, range->after, range->through, note_sender,
		    c);
	for (size_t i = 0; i < c->reader_count && rc == SQLITE_OK; i++) {
		struct reader *r = &c->readers[i];
		long long seq;

		/* A member no longer is told nothing: no need to look. */
		if (!r->m.current || strcmp(r->user, c->acker) == 0)
			continue;
		rc = bridge_store_sender_newest(c->s, c->convo, r->user,
		                                range->after, range->through,
		                                &seq);
		r->newest = larger(r->newest, seq);
	}
	return rc;
}

static bool sees(const struct bridge_membership *m, long long seq)
{
	return m->joined_seq < seq && (m->current || seq <= m->left_seq);
}

static int push_event(struct conversation *c, const char *to,
                      struct json_writer *event)
{
	struct bridge_entry *e;

	if (!json_writer_ok(event))
		return SQLITE_NOMEM;
	e = bridge_entries_push(c->out, BRIDGE_EVENT);
	if (e == NULL)
		return SQLITE_NOMEM;
	snprintf(e->to, sizeof(e->to), "%s", to);
	/* The entry takes the text. */
	e->event = event->data;
	json_writer_init(event);
	return SQLITE_OK;
}

/* How far the sender's message at seq has got among the others. */
static int write_receipt(struct conversation *c, const struct reader *sender)
{
	long long seq = sender->newest, delivered = 0, read = 0, of = 0;
	struct json_writer w;
	int rc;

	for (size_t i = 0; i < c->reader_count; i++) {
		const struct reader *r = &c->readers[i];

		if (r == sender || !sees(&r->m, seq))
			continue;
		of++;
		delivered += r->m.delivered_seq >= seq;
		read += r->m.read_seq >= seq;
	}
	json_writer_init(&w);
	json_writer_open_object(&w);
	json_writer_key(&w, "type");
	json_writer_string(&w, "receipt");
	json_writer_key(&w, "convo");
	json_writer_string(&w, c->convo);
	json_writer_key(&w, "seq");
	json_writer_int(&w, seq);
	json_writer_key(&w, "delivered");
	json_writer_int(&w, delivered);
	json_writer_key(&w, "read");
	json_writer_int(&w, read);
	json_writer_key(&w, "of");
	json_writer_int(&w, of);
	json_writer_key(&w, "by");
	json_writer_open_array(&w);
	for (size_t i = 0; i < c->move_count; i++) {
		const struct move *m = &c->moves[i];

		if (strcmp(m->user, sender->user) != 0 && covers(m, seq))
			json_writer_string(&w, m->user);
	}
	json_writer_close_array(&w);
	json_writer_close_object(&w);
	rc = push_event(c, sender->user, &w);
	json_writer_free(&w);
	return rc;
}

/* One receipt event per sender whose messages the moves covered; a
 * sender who is a member no longer hears nothing more. */
static int tell_senders(struct conversation *c)
{
	int rc = bridge_store_each_member(c->s, c->convo, keep_reader, c);

	if (rc == SQLITE_OK && c->no_memory)
		rc = SQLITE_NOMEM;
	for (size_t i = 0; i < c->move_count && rc == SQLITE_OK; i++) {
		struct range ranges[2];
		size_t n = covered_ranges(&c->moves[i], ranges);

		c->acker = c->moves[i].user;
		for (size_t j = 0; j < n && rc == SQLITE_OK; j++)
			rc = find_senders(c, &ranges[j]);
	}
	for (size_t i = 0; i < c->reader_count && rc == SQLITE_OK; i++)
		if (c->readers[i].newest > 0 && c->readers[i].m.current)
			rc = write_receipt(c, &c->readers[i]);
	return rc;
}

/* The acking member's devices learn its cursors. */
static int tell_ackers(struct conversation *c)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; i < c->move_count && rc == SQLITE_OK; i++) {
		const struct move *m = &c->moves[i];
		struct json_writer w;

		json_writer_init(&w);
		json_writer_open_object(&w);
		json_writer_key(&w, "type");
		json_writer_string(&w, "cursor");
		json_writer_key(&w, "convo");
		json_writer_string(&w, c->convo);
		json_writer_key(&w, "delivered");
		json_writer_int(&w, m->delivered);
		json_writer_key(&w, "read");
		json_writer_int(&w, m->read);
		json_writer_close_object(&w);
		rc = push_event(c, m->user, &w);
		json_writer_free(&w);
	}
	return rc;
}

/* Applies the receipts for one conversation, count of them from first. */
static int apply_conversation(struct conversation *c,
                              const struct bridge_receipt *first, size_t count)
{
	struct bridge_conversation info;
	long long head;
	int rc = bridge_store_conversation(c->s, c->convo, &info);

	if (rc != SQLITE_OK || !info.found)
		return rc;
	rc = bridge_store_head(c->s, c->convo, &head);
	c->moves = calloc(count, sizeof(*c->moves));
	if (rc == SQLITE_OK && c->moves == NULL)
		rc = SQLITE_NOMEM;
	for (size_t i = 0; i < count && rc == SQLITE_OK; i++) {
		bool moved;

		rc = move_cursors(c, &first[i], head, &c->moves[c->move_count],
		                  &moved);
		if (moved)
			c->move_count++;
	}
	/* Broadcast conversations have no per-member receipts. */
	if (rc == SQLITE_OK && c->move_count > 0 && !info.broadcast)
		rc = tell_senders(c);
	if (rc == SQLITE_OK)
		rc = tell_ackers(c);
	return rc;
}

static int apply_all(struct bridge_store *s, struct bridge_receipt_queue *q,
                     struct bridge_entries *out)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; i < q->count && rc == SQLITE_OK;) {
		struct conversation c;
		size_t j = i + 1;

		while (j < q->count &&
		       strcmp(q->receipts[j].convo, q->receipts[i].convo) == 0)
			j++;
		memset(&c, 0, sizeof(c));
		c.s = s;
		c.convo = q->receipts[i].convo;
		c.out = out;
		rc = apply_conversation(&c, &q->receipts[i], j - i);
		free(c.moves);
		free(c.readers);
		i = j;
	}
	return rc;
}

int bridge_receipts_apply(struct bridge_store *s,
                          struct bridge_receipt_queue *q,
                          struct bridge_entries *out)
{
	struct bridge_entries events = {NULL, 0, 0};
	int rc;

	merge_receipts(q);
	if (q->count == 0)
		return SQLITE_OK;
	rc = bridge_store_begin(s);
	if (rc == SQLITE_OK)
		rc = apply_all(s, q, &events);
	if (rc == SQLITE_OK)
		rc = bridge_store_commit(s);
	if (rc == SQLITE_OK && bridge_entries_append(out, &events) != 0)
		bridge_error("out of memory announcing the receipts of %zu "
		             "members; their cursors moved all the same",
		             q->count);
	if (rc != SQLITE_OK) {
		bridge_error("could not apply %zu receipts: %s (%s); no cursor "
		             "moved",
		             q->count, sqlite3_errstr(rc),
		             bridge_store_error(s));
		bridge_store_rollback(s);
	}
	bridge_entries_clear(&events);
	return rc;
}
