#include "commit.h"

#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_WARNING_INTERVAL_MS 5000

static const char not_member_text[] =
    "you are not a member of this conversation";
static const char storage_error_text[] =
    "the store could not save the message; retry later";

static void clear_entry(struct bridge_entry *e)
{
	bridge_message_clear(&e->msg);
	free(e->also);
	free(e->event);
	e->also = NULL;
	e->event = NULL;
}

void bridge_entries_clear(struct bridge_entries *e)
{
	for (size_t i = 0; i < e->count; i++)
		clear_entry(&e->items[i]);
	free(e->items);
	e->items = NULL;
	e->count = 0;
	e->cap = 0;
}

static int reserve(struct bridge_entries *e, size_t more)
{
	size_t cap = e->cap ? e->cap : 8;
	struct bridge_entry *grown;

	if (e->count + more <= e->cap)
		return 0;
	while (cap < e->count + more)
		cap *= 2;
	grown = realloc(e->items, cap * sizeof(*grown));
	if (grown == NULL)
		return -1;
	e->items = grown;
	e->cap = cap;
	return 0;
}

struct bridge_entry *bridge_entries_push(struct bridge_entries *e,
                                         enum bridge_outcome outcome)
{
	struct bridge_entry *entry;

	if (reserve(e, 1) != 0)
		return NULL;
	entry = &e->items[e->count++];
	memset(entry, 0, sizeof(*entry));
	entry->outcome = outcome;
	return entry;
}

int bridge_entries_append(struct bridge_entries *to,
                          struct bridge_entries *from)
{
	if (from->count == 0)
		return 0;
	if (reserve(to, from->count) != 0)
		return -1;
	memcpy(to->items + to->count, from->items,
	       from->count * sizeof(*from->items));
	to->count += from->count;
	/* The strings belong to `to` now. */
	from->count = 0;
	bridge_entries_clear(from);
	return 0;
}

static bool is_lock_conflict(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static bool is_constraint(int rc)
{
	return (rc & 0xff) == SQLITE_CONSTRAINT;
}

static int reject(struct bridge_entry *e, const struct bridge_message *m,
                  const char *code, const char *text)
{
	bridge_message_clear(&e->msg);
	if (bridge_message_copy(&e->msg, m) != 0)
		return SQLITE_NOMEM;
	e->msg.seq = 0;
	e->outcome = BRIDGE_REJECTED;
	e->code = code;
	e->text = text;
	return SQLITE_OK;
}

/*
 * A message whose seq or id is already taken cannot be stored as stamped,
 * but the rest of the batch can. A taken seq means a cached head is wrong,
 * so the heads are reloaded after this transaction.
 */
static int reject_conflict(struct bridge_entry *e,
                           const struct bridge_message *m, int rc,
                           const char *why, bool *heads_suspect)
{
	bridge_error("could not store message %s/%s from %s: %s (%s)", m->convo,
	             m->cmid, m->from, sqlite3_errstr(rc), why);
	*heads_suspect = true;
	return reject(e, m, "storage_error", storage_error_text);
}

/* Decides and stores one message inside the open transaction. */
static int commit_one(struct bridge_store *s, const struct bridge_message *m,
                      struct bridge_entry *e, bool *heads_suspect)
{
	struct bridge_membership member;
	bool found;
	int rc;

	rc = bridge_store_membership(s, m->convo, m->from, &member);
	if (rc != SQLITE_OK)
		return rc;
	/* A member who was removed or left may still read, never write. */
	if (!member.current)
		return reject(e, m, "not_member", not_member_text);
	rc = bridge_store_find_by_cmid(s, m->convo, m->from, m->cmid, &e->msg,
	                               &found);
	if (rc != SQLITE_OK || found) {
		e->outcome = BRIDGE_DUPLICATE;
		return rc;
	}
	if (bridge_message_copy(&e->msg, m) != 0)
		return SQLITE_NOMEM;
	e->outcome = BRIDGE_STORED;
	rc = bridge_store_append(s, &e->msg);
	if (is_constraint(rc))
		return reject_conflict(e, m, rc, bridge_store_error(s),
		                       heads_suspect);
	return rc;
}

static void clear_entries(struct bridge_entries *out)
{
	for (size_t i = 0; i < out->count; i++)
		clear_entry(&out->items[i]);
}

/* One try at the whole batch; on failure nothing is stored or kept, and
 * why describes the failure (read before the rollback overwrites it). */
static int attempt(struct bridge_store *s, const struct bridge_batch *batch,
                   struct bridge_entries *out, bool *heads_suspect, char *why,
                   size_t whylen)
{
	int rc = bridge_store_begin(s);

	for (size_t i = 0; i < batch->count && rc == SQLITE_OK; i++)
		rc = commit_one(s, &batch->messages[i], &out->items[i],
		                heads_suspect);
	/* Watermarks and presence ride along: no commit, no fsync of their
	 * own. */
	if (rc == SQLITE_OK)
		rc = bridge_store_write_deferred(s);
	if (rc == SQLITE_OK)
		rc = bridge_store_commit(s);
	if (rc != SQLITE_OK) {
		snprintf(why, whylen, "%s", bridge_store_error(s));
		bridge_store_rollback(s);
		clear_entries(out);
	}
	return rc;
}

static enum bridge_commit_status reject_all(const struct bridge_batch *batch,
                                            struct bridge_entries *out,
                                            enum bridge_commit_status status)
{
	for (size_t i = 0; i < batch->count; i++) {
		if (reject(&out->items[i], &batch->messages[i], "storage_error",
		           storage_error_text) != SQLITE_OK) {
			bridge_entries_clear(out);
			return BRIDGE_COMMIT_NO_MEMORY;
		}
	}
	return status;
}

static void log_outcome(const struct bridge_entries *out)
{
	size_t counts[BRIDGE_OUTCOMES] = {0};
	const struct bridge_entry *first_refused = NULL;

	for (size_t i = 0; i < out->count; i++) {
		const struct bridge_entry *e = &out->items[i];

		counts[e->outcome]++;
		if (e->outcome == BRIDGE_REJECTED && first_refused == NULL)
			first_refused = e;
	}
	bridge_debug("committed a batch of %zu: %zu new, %zu duplicate, "
	             "%zu refused",
	             out->count, counts[BRIDGE_STORED],
	             counts[BRIDGE_DUPLICATE], counts[BRIDGE_REJECTED]);
	if (first_refused != NULL)
		bridge_client_info("refused %zu of %zu messages, first from %s "
		                   "in %s: %s",
		                   counts[BRIDGE_REJECTED], out->count,
		                   first_refused->msg.from,
		                   first_refused->msg.convo,
		                   first_refused->code);
}

/* Keeps the operator informed while another process holds the lock. */
struct lock_watch {
	long long started; /* first attempt */
	long long last_warning;
	bool waiting;
};

static void note_lock_conflict(struct lock_watch *watch, size_t messages)
{
	long long now = chat_monotonic_ms();

	if (!watch->waiting) {
		watch->waiting = true;
		watch->last_warning = now;
		bridge_warning("the database is locked by another process; "
		               "holding %zu messages until it is released",
		               messages);
		return;
	}
	if (now - watch->last_warning < LOCK_WARNING_INTERVAL_MS)
		return;
	watch->last_warning = now;
	bridge_warning("the database is still locked after %lld s; holding "
	               "%zu messages",
	               (now - watch->started) / 1000, messages);
}

enum bridge_commit_status bridge_commit(struct bridge_store *s,
                                        const struct bridge_batch *batch,
                                        struct bridge_entries *out,
                                        bridge_lock_wait_fn wait, void *ctx)
{
	struct lock_watch watch = {chat_monotonic_ms(), 0, false};

	memset(out, 0, sizeof(*out));
	if (batch->count == 0)
		return BRIDGE_COMMIT_DONE;
	out->items = calloc(batch->count, sizeof(*out->items));
	if (out->items == NULL)
		return BRIDGE_COMMIT_NO_MEMORY;
	out->count = batch->count;
	out->cap = batch->count;
	for (;;) {
		bool heads_suspect = false;
		char why[256];
		int rc =
		    attempt(s, batch, out, &heads_suspect, why, sizeof(why));

		if (heads_suspect)
			bridge_store_forget_heads(s);
		if (rc == SQLITE_OK) {
			if (watch.waiting)
				bridge_info("stored %zu messages after waiting "
				            "%lld ms for the database lock",
				            batch->count,
				            chat_monotonic_ms() -
				                watch.started);
			log_outcome(out);
			return BRIDGE_COMMIT_DONE;
		}
		if (!is_lock_conflict(rc)) {
			bridge_error("could not store a batch of %zu messages: "
			             "%s (%s); all refused as storage_error",
			             batch->count, sqlite3_errstr(rc), why);
			return reject_all(batch, out, BRIDGE_COMMIT_FAILED);
		}
		note_lock_conflict(&watch, batch->count);
		if (wait != NULL && !wait(ctx)) {
			bridge_warning("gave up waiting for the database lock; "
			               "%zu messages refused",
			               batch->count);
			return reject_all(batch, out, BRIDGE_COMMIT_ABANDONED);
		}
	}
}
