#include "announce.h"

#include <stdbool.h>
#include <string.h>

static void write_reject(struct json_writer *w, const struct bridge_entry *e)
{
	json_writer_open_object(w);
	json_writer_key(w, "convo");
	json_writer_string(w, e->msg.convo);
	json_writer_key(w, "from");
	json_writer_string(w, e->msg.from);
	json_writer_key(w, "cmid");
	json_writer_string(w, e->msg.cmid);
	json_writer_key(w, "client");
	json_writer_string(w, e->msg.client ? e->msg.client : "");
	json_writer_key(w, "code");
	json_writer_string(w, e->code);
	json_writer_key(w, "message");
	json_writer_string(w, e->text);
	json_writer_close_object(w);
}

/* What the plugin needs to route a message without reading it: the text
 * that follows on the next line is published as it is. */
static void write_head(struct json_writer *w, const struct bridge_message *m)
{
	json_writer_open_object(w);
	json_writer_key(w, "convo");
	json_writer_string(w, m->convo);
	json_writer_key(w, "seq");
	json_writer_int(w, m->seq);
	json_writer_key(w, "from");
	json_writer_string(w, m->from);
	json_writer_key(w, "cmid");
	json_writer_string(w, m->cmid);
	if (m->type != NULL) {
		json_writer_key(w, "type");
		json_writer_string(w, m->type);
	}
	json_writer_close_object(w);
}

static bool carries_message(const struct bridge_entry *e)
{
	return e->outcome == BRIDGE_STORED || e->outcome == BRIDGE_DUPLICATE;
}

/* The entry as one JSON object; `head` writes a message entry's head
 * instead of the whole message. */
static void write_entry(struct json_writer *w, const struct bridge_entry *e,
                        bool head)
{
	json_writer_open_object(w);
	switch (e->outcome) {
	case BRIDGE_REJECTED:
		json_writer_key(w, "reject");
		write_reject(w, e);
		break;
	case BRIDGE_MEMBERSHIP:
		json_writer_key(w, "membership");
		json_writer_string(w, e->msg.convo);
		break;
	case BRIDGE_EVENT:
		json_writer_key(w, "event");
		json_writer_fragment(w, e->event, strlen(e->event));
		json_writer_key(w, "to");
		json_writer_string(w, e->to);
		break;
	case BRIDGE_SETTINGS:
		json_writer_key(w, "settings");
		json_writer_string(w, e->to);
		break;
	case BRIDGE_KEYS:
		json_writer_key(w, "keys");
		json_writer_fragment(w, e->event, strlen(e->event));
		json_writer_key(w, "user");
		json_writer_string(w, e->to);
		break;
	default:
		json_writer_key(w, "msg");
		if (head)
			write_head(w, &e->msg);
		else
			bridge_message_write(w, &e->msg);
	}
	if (e->outcome == BRIDGE_DUPLICATE) {
		json_writer_key(w, "to");
		json_writer_string(w, e->msg.from);
	}
	if (e->outcome == BRIDGE_STORED && e->also != NULL) {
		json_writer_key(w, "also");
		json_writer_fragment(w, e->also, strlen(e->also));
	}
	json_writer_close_object(w);
}

void bridge_announce_entry(struct json_writer *w, const struct bridge_entry *e)
{
	write_entry(w, e, false);
}

/* One entry on the wire: its line, and for a message the message's own
 * line. JSON text written here never holds a raw newline. */
static void write_wire_entry(struct json_writer *w,
                             const struct bridge_entry *e)
{
	json_writer_raw(w, "", 0);
	write_entry(w, e, true);
	json_writer_raw(w, "\n", 1);
	if (!carries_message(e))
		return;
	bridge_message_write(w, &e->msg);
	json_writer_raw(w, "\n", 1);
}

/* Writes entry i into out, and the one after it when i is a membership
 * change: the plugin must find the change and the message recording it
 * in the same array. Returns how many entries were written. */
static size_t write_unit(struct json_writer *out,
                         const struct bridge_entries *entries, size_t i)
{
	const struct bridge_entry *e = &entries->items[i];

	json_writer_reset(out);
	write_wire_entry(out, e);
	if (e->outcome != BRIDGE_MEMBERSHIP || i + 1 >= entries->count)
		return 1;
	write_wire_entry(out, &entries->items[i + 1]);
	return 2;
}

/* Hands over chunk, which holds the in_chunk entries before next, and
 * starts the next one. */
static int flush(struct json_writer *chunk, size_t *in_chunk,
                 const struct bridge_entry *next, bridge_chunk_fn fn, void *ctx)
{
	int rc;

	if (!json_writer_ok(chunk))
		return -1;
	rc = fn(ctx, chunk->data, chunk->len, next - *in_chunk, *in_chunk);
	json_writer_reset(chunk);
	*in_chunk = 0;
	return rc;
}

int bridge_announce(const struct bridge_entries *entries, size_t max_bytes,
                    bridge_chunk_fn fn, void *ctx)
{
	struct json_writer chunk, entry;
	size_t in_chunk = 0;
	int rc = 0;

	json_writer_init(&chunk);
	json_writer_init(&entry);
	for (size_t i = 0; i < entries->count && rc == 0;) {
		/* An entry, or a membership change with its message. */
		size_t unit = write_unit(&entry, entries, i);

		if (!json_writer_ok(&entry)) {
			rc = -1;
			break;
		}
		if (in_chunk > 0 && chunk.len + entry.len > max_bytes)
			rc = flush(&chunk, &in_chunk, &entries->items[i], fn,
			           ctx);
		json_writer_raw(&chunk, entry.data, entry.len);
		in_chunk += unit;
		i += unit;
	}
	if (rc == 0 && in_chunk > 0)
		rc = flush(&chunk, &in_chunk, entries->items + entries->count,
		           fn, ctx);
	json_writer_free(&chunk);
	json_writer_free(&entry);
	return rc;
}
