#include "announce.h"

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

void bridge_announce_entry(struct json_writer *w, const struct bridge_entry *e)
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

/* Writes entry i into out, and the one after it when i is a membership
 * change: the plugin must find the change and the message recording it
 * in the same array. Returns how many entries were written. */
static size_t write_unit(struct json_writer *out,
                         const struct bridge_entries *entries, size_t i)
{
	const struct bridge_entry *e = &entries->items[i];

	json_writer_reset(out);
	json_writer_raw(out, "", 0);
	bridge_announce_entry(out, e);
	if (e->outcome != BRIDGE_MEMBERSHIP || i + 1 >= entries->count)
		return 1;
	bridge_announce_entry(out, &entries->items[i + 1]);
	return 2;
}

/* Closes the array in chunk, which holds the in_chunk entries before
 * next, hands it over and starts the next one. */
static int flush(struct json_writer *chunk, size_t *in_chunk,
                 const struct bridge_entry *next, bridge_chunk_fn fn, void *ctx)
{
	int rc;

	json_writer_close_array(chunk);
	if (!json_writer_ok(chunk))
		return -1;
	rc = fn(ctx, chunk->data, chunk->len, next - *in_chunk, *in_chunk);
	json_writer_reset(chunk);
	json_writer_open_array(chunk);
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
	json_writer_open_array(&chunk);
	for (size_t i = 0; i < entries->count && rc == 0;) {
		/* An entry, or a membership change with its message. */
		size_t unit = write_unit(&entry, entries, i);

		if (!json_writer_ok(&entry)) {
			rc = -1;
			break;
		}
		/* +2: the comma before the entry and the closing bracket. */
		if (in_chunk > 0 && chunk.len + entry.len + 2 > max_bytes)
			rc = flush(&chunk, &in_chunk, &entries->items[i], fn,
			           ctx);
		json_writer_fragment(&chunk, entry.data, entry.len);
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
