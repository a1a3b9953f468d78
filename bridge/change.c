#include "change.h"

#include "db.h"
#include "log.h"
#include "store_admin.h"
#include "system_message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct bridge_failure *bridge_change_begin(struct bridge_change *c,
                                                 struct bridge_reply *r,
                                                 const char *convo)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->r = r;
	snprintf(c->convo, sizeof(c->convo), "%s", convo);
	bridge_system_cmid(c->cmid, r->id, NULL);
	rc = bridge_store_begin(r->store);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	c->open = true;
	return NULL;
}

const struct bridge_failure *bridge_change_failed(struct bridge_change *c,
                                                  int rc)
{
	struct bridge_reply *r = c->r;

	bridge_error("%s %s by %s%s%s failed: %s (%s); nothing changed", r->op,
	             r->id, r->user, c->convo[0] ? " in " : "", c->convo,
	             sqlite3_errstr(rc), bridge_store_error(r->store));
	return &bridge_failure_storage;
}

const struct bridge_failure *
bridge_change_announce(struct bridge_change *c, enum bridge_outcome outcome,
                       const char *user, const struct json_writer *event)
{
	struct bridge_entry *e = bridge_entries_push(&c->entries, outcome);

	if (e == NULL)
		return &bridge_failure_internal;
	snprintf(e->to, sizeof(e->to), "%s", user);
	if (event == NULL)
		return NULL;
	if (!json_writer_ok(event) || (e->event = strdup(event->data)) == NULL)
		return &bridge_failure_internal;
	return NULL;
}

const struct bridge_failure *
bridge_change_earlier(struct bridge_change *c, const char *type,
                      struct bridge_message *earlier, bool *found)
{
	struct bridge_reply *r = c->r;
	int rc = bridge_store_find_by_cmid(r->store, c->convo, r->user, c->cmid,
	                                   earlier, found);

	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	if (!*found || (earlier->type && strcmp(earlier->type, type) == 0))
		return NULL;
	bridge_message_clear(earlier);
	*found = false;
	return bridge_reply_fail(r, "bad_request",
	                         "request id %s was used for another change",
	                         r->id);
}

static int keep_message(struct bridge_change *c, const struct bridge_message *m,
                        const char *also)
{
	struct bridge_entry *e =
	    bridge_entries_push(&c->entries, BRIDGE_STORED);

	if (e == NULL || bridge_message_copy(&e->msg, m) != 0)
		return -1;
	if (also != NULL && (e->also = strdup(also)) == NULL)
		return -1;
	return 0;
}

const struct bridge_failure *
bridge_change_record(struct bridge_change *c, const char *type,
                     struct json_writer *event, const char *also,
                     const char *suffix, long long *seq)
{
	struct bridge_reply *r = c->r;
	struct bridge_message m;
	long long now = chat_now_ms();
	int rc;

	if (!json_writer_ok(event))
		return &bridge_failure_internal;
	memset(&m, 0, sizeof(m));
	snprintf(m.convo, sizeof(m.convo), "%s", c->convo);
	snprintf(m.from, sizeof(m.from), "%s", r->user);
	bridge_system_cmid(m.cmid, r->id, suffix);
	m.id = bridge_store_system_id(r->store, now);
	m.ts = now;
	/* Borrowed for the insert and the copy. */
	m.type = (char *)type;
	m.body = event->data;
	rc = bridge_store_append(r->store, &m);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	if (keep_message(c, &m, also) != 0)
		return &bridge_failure_internal;
	*seq = m.seq;
	return NULL;
}

/* The entries the change announces, in order, for the reply. */
static int hand_over(struct bridge_change *c)
{
	struct bridge_entries *announce = c->r->announce;
	struct bridge_entry *change;

	if (announce == NULL)
		return 0;
	if (c->membership) {
		change = bridge_entries_push(announce, BRIDGE_MEMBERSHIP);
		if (change == NULL)
			return -1;
		strcpy(change->msg.convo, c->convo);
	}
	return bridge_entries_append(announce, &c->entries);
}

const struct bridge_failure *bridge_change_commit(struct bridge_change *c)
{
	struct bridge_reply *r = c->r;
	struct json_writer *out = r->out;
	int rc = SQLITE_OK;

	if (!json_writer_ok(out))
		return &bridge_failure_internal;
	if (bridge_reply_is_admin(r))
		rc = bridge_store_admin_answer(
		    r->store, r->admin_request, out->data + r->start.len,
		    out->len - r->start.len, chat_now_ms());
	/* Watermarks and presence ride along, as with batches. */
	if (rc == SQLITE_OK)
		rc = bridge_store_write_deferred(r->store);
	if (rc == SQLITE_OK)
		rc = bridge_store_commit(r->store);
	if (rc != SQLITE_OK)
		return bridge_change_failed(c, rc);
	c->open = false;
	r->answered = bridge_reply_is_admin(r);
	if (hand_over(c) == 0)
		return NULL;
	if (c->convo[0] == '\0') {
		bridge_error("out of memory announcing %s %s by %s; the plugin "
		             "learns of it only when its cache expires",
		             r->op, r->id, r->user);
		return NULL;
	}
	bridge_error("out of memory announcing %s %s in %s; members get it by "
	             "sync, and the next start announces it",
	             r->op, r->id, c->convo);
	bridge_store_hold_announced(r->store, c->convo);
	return NULL;
}

void bridge_change_end(struct bridge_change *c)
{
	if (c->open)
		bridge_store_rollback(c->r->store);
	c->open = false;
	bridge_entries_clear(&c->entries);
}
