#include "announcements.h"

#include "announce.h"
#include "log.h"
#include "system_message.h"

#include <stdlib.h>
#include <string.h>

/* Stored messages handed to the chunker at a time when recovering. */
#define RECOVERY_BATCH 1000

enum announcement_state {
	ANNOUNCEMENT_QUEUED,
	ANNOUNCEMENT_IN_FLIGHT,
	ANNOUNCEMENT_ACCEPTED,
	ANNOUNCEMENT_REFUSED, /* by the broker, or never publishable */
};

/* The newest seq of one conversation that a chunk announces. */
struct covered {
	char convo[CHAT_ID_MAX + 1];
	long long seq;
};

struct bridge_announcement {
	struct bridge_announcement *next;
	enum announcement_state state;
	int mid;    /* while in flight */
	char *json; /* owned until taken */
	size_t len;
	size_t messages; /* stored messages announced, for the log */
	size_t covered_count;
	struct covered covered[];
};

void bridge_announcements_init(struct bridge_announcements *a,
                               struct bridge_store *store, size_t max_bytes,
                               bridge_publish_fn publish, void *ctx)
{
	memset(a, 0, sizeof(*a));
	a->store = store;
	a->max_bytes = max_bytes;
	a->publish = publish;
	a->ctx = ctx;
}

static void free_announcement(struct bridge_announcement *n)
{
	free(n->json);
	free(n);
}

void bridge_announcements_free(struct bridge_announcements *a)
{
	struct bridge_announcement *n = a->oldest;

	while (n != NULL) {
		struct bridge_announcement *next = n->next;

		free_announcement(n);
		n = next;
	}
	a->oldest = a->newest = a->unsent = NULL;
	a->waiting = a->in_flight = 0;
}

/* Runs of stored messages in one conversation count once: a conversation
 * needs only its newest seq of the run. */
static size_t count_runs(const struct bridge_entry *first, size_t count,
                         size_t *messages)
{
	const char *previous = NULL;
	size_t runs = 0;

	*messages = 0;
	for (size_t i = 0; i < count; i++) {
		if (first[i].outcome != BRIDGE_STORED)
			continue;
		(*messages)++;
		if (previous == NULL || strcmp(previous, first[i].msg.convo))
			runs++;
		previous = first[i].msg.convo;
	}
	return runs;
}

static void fill_covered(struct bridge_announcement *n,
                         const struct bridge_entry *first, size_t count)
{
	struct covered *last = NULL;

	for (size_t i = 0; i < count; i++) {
		const struct bridge_message *m = &first[i].msg;

		if (first[i].outcome != BRIDGE_STORED)
			continue;
		if (last == NULL || strcmp(last->convo, m->convo) != 0) {
			last = &n->covered[n->covered_count++];
			strcpy(last->convo, m->convo);
		}
		last->seq = m->seq;
	}
}

static void append(struct bridge_announcements *a,
                   struct bridge_announcement *n)
{
	if (a->newest != NULL)
		a->newest->next = n;
	else
		a->oldest = n;
	a->newest = n;
	if (a->unsent == NULL)
		a->unsent = n;
	a->waiting++;
}

/* Chunk callback: copies one chunk into the queue. */
static int queue_chunk(void *ctx, const char *json, size_t len,
                       const struct bridge_entry *first, size_t count)
{
	struct bridge_announcements *a = ctx;
	struct bridge_announcement *n;
	size_t messages, runs = count_runs(first, count, &messages);

	n = calloc(1, sizeof(*n) + runs * sizeof(n->covered[0]));
	if (n == NULL)
		return -1;
	n->json = malloc(len);
	if (n->json == NULL) {
		free(n);
		return -1;
	}
	memcpy(n->json, json, len);
	n->len = len;
	n->messages = messages;
	fill_covered(n, first, count);
	append(a, n);
	return 0;
}

static void hold_stored(struct bridge_announcements *a,
                        const struct bridge_entries *entries)
{
	for (size_t i = 0; i < entries->count; i++) {
		const struct bridge_entry *e = &entries->items[i];

		if (e->outcome == BRIDGE_STORED &&
		    bridge_store_hold_announced(a->store, e->msg.convo) !=
		        SQLITE_OK)
			bridge_error("out of memory: the watermark of %s may "
			             "pass an unannounced message",
			             e->msg.convo);
	}
}

int bridge_announcements_add(struct bridge_announcements *a,
                             const struct bridge_entries *entries)
{
	if (entries->count == 0)
		return 0;
	if (bridge_announce(entries, a->max_bytes, queue_chunk, a) == 0)
		return 0;
	/* Whatever part was not queued must not be passed over. */
	hold_stored(a, entries);
	return -1;
}

static void note_covered(struct bridge_announcements *a,
                         const struct bridge_announcement *n)
{
	bool accepted = n->state == ANNOUNCEMENT_ACCEPTED;

	for (size_t i = 0; i < n->covered_count; i++) {
		const struct covered *c = &n->covered[i];
		int rc = accepted
		             ? bridge_store_note_announced(a->store, c->convo,
		                                           c->seq)
		             : bridge_store_hold_announced(a->store, c->convo);

		/* Not noting an acceptance costs a duplicate at most. */
		if (rc != SQLITE_OK && !accepted)
			bridge_error("out of memory: the watermark of %s may "
			             "pass an unannounced message",
			             c->convo);
	}
}

/* Settles the oldest chunks, as far as they are answered, in order. */
static void settle(struct bridge_announcements *a)
{
	while (a->oldest != NULL &&
	       (a->oldest->state == ANNOUNCEMENT_ACCEPTED ||
	        a->oldest->state == ANNOUNCEMENT_REFUSED)) {
		struct bridge_announcement *n = a->oldest;

		note_covered(a, n);
		a->oldest = n->next;
		if (a->oldest == NULL)
			a->newest = NULL;
		free_announcement(n);
	}
}

size_t bridge_announcements_send(struct bridge_announcements *a)
{
	size_t taken = 0;

	while (a->unsent != NULL) {
		struct bridge_announcement *n = a->unsent;
		enum bridge_publish_status status;
		int mid = 0;

		status = a->publish(a->ctx, n->json, n->len, &mid);
		if (status == BRIDGE_PUBLISH_LATER)
			break;
		free(n->json);
		n->json = NULL;
		a->unsent = n->next;
		a->waiting--;
		if (status == BRIDGE_PUBLISH_SENT) {
			n->state = ANNOUNCEMENT_IN_FLIGHT;
			n->mid = mid;
			a->in_flight++;
			taken++;
		} else {
			n->state = ANNOUNCEMENT_REFUSED;
		}
	}
	settle(a);
	return taken;
}

void bridge_announcements_acknowledged(struct bridge_announcements *a, int mid,
                                       bool accepted)
{
	struct bridge_announcement *n;

	/* Acknowledgements come in publish order: the match is near the
	 * front. */
	for (n = a->oldest; n != NULL && n != a->unsent; n = n->next)
		if (n->state == ANNOUNCEMENT_IN_FLIGHT && n->mid == mid)
			break;
	if (n == NULL || n == a->unsent)
		return;
	n->state = accepted ? ANNOUNCEMENT_ACCEPTED : ANNOUNCEMENT_REFUSED;
	a->in_flight--;
	if (!accepted)
		bridge_error("the broker refused an announcement of %zu "
		             "messages; members get them by sync, and the next "
		             "start announces them again",
		             n->messages);
	settle(a);
}

/* Collects stored messages for bridge_announcements_recover. */
struct recovery {
	struct bridge_announcements *a;
	struct bridge_entries entries;
	size_t messages;
	bool failed;
};

static bool queue_recovered(struct recovery *r)
{
	if (bridge_announcements_add(r->a, &r->entries) != 0)
		r->failed = true;
	bridge_entries_clear(&r->entries);
	return !r->failed;
}

/*
 * A system message may record a change the plugin never heard of (the
 * last run stopped before announcing it), so it is preceded by its
 * membership entry again, and reaches the users it removed.
 */
static int recover_system_message(struct recovery *r,
                                  const struct bridge_message *m,
                                  struct bridge_entry **stored)
{
	struct bridge_entry *change =
	    bridge_entries_push(&r->entries, BRIDGE_MEMBERSHIP);

	if (change == NULL)
		return -1;
	strcpy(change->msg.convo, m->convo);
	*stored = bridge_entries_push(&r->entries, BRIDGE_STORED);
	if (*stored == NULL)
		return -1;
	return bridge_system_also(m, &(*stored)->also);
}

static bool recover_row(void *ctx, const struct bridge_message *m)
{
	struct recovery *r = ctx;
	struct bridge_entry *e = NULL;
	int rc;

	if (m->type != NULL) {
		rc = recover_system_message(r, m, &e);
	} else {
		e = bridge_entries_push(&r->entries, BRIDGE_STORED);
		rc = e != NULL ? 0 : -1;
	}
	if (rc != 0 || bridge_message_copy(&e->msg, m) != 0) {
		r->failed = true;
		return false;
	}
	r->messages++;
	if (r->entries.count < RECOVERY_BATCH)
		return true;
	return queue_recovered(r);
}

static void log_recovery(const struct recovery *r,
                         const struct bridge_unannounced *found,
                         long long newest)
{
	if (r->messages == 0) {
		bridge_info("every committed message was announced before the "
		            "last stop");
		return;
	}
	bridge_info("announcing again %zu committed messages of %zu "
	            "conversations that the broker had not acknowledged "
	            "before the last stop",
	            r->messages, found->conversations);
	if (found->older > 0)
		bridge_info("not announcing %lld older unacknowledged "
		            "messages (at most the newest %lld of a "
		            "conversation); members get them by sync",
		            found->older, newest);
}

int bridge_announcements_recover(struct bridge_announcements *a,
                                 long long newest)
{
	struct recovery r = {a, {NULL, 0, 0}, 0, false};
	struct bridge_unannounced found;
	int rc;

	rc = bridge_store_read_unannounced(a->store, newest, recover_row, &r,
	                                   &found);
	if (rc == SQLITE_OK && !r.failed && r.entries.count > 0)
		queue_recovered(&r);
	bridge_entries_clear(&r.entries);
	if (rc == SQLITE_OK && r.failed)
		rc = SQLITE_NOMEM;
	if (rc == SQLITE_OK)
		log_recovery(&r, &found, newest);
	return rc;
}
