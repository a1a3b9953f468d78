#include "handoff.h"

#include <stdlib.h>
#include <string.h>

void chat_handoff_init(struct chat_handoff *h, size_t flush_bytes,
		       const char *bridge_client_id,
		       const char *messages_topic, const char *requests_topic)
{
	memset(h, 0, sizeof(*h));
	h->flush_bytes = flush_bytes;
	h->bridge_client_id = bridge_client_id;
	h->messages_topic = messages_topic;
	h->requests_topic = requests_topic;
}

static void batch_reset(struct chat_batch *b)
{
	b->len = 0;
	b->items = 0;
}

void chat_handoff_free(struct chat_handoff *h)
{
	free(h->messages.buf);
	free(h->requests.buf);
	memset(&h->messages, 0, sizeof(h->messages));
	memset(&h->requests, 0, sizeof(h->requests));
}

static int batch_reserve(struct chat_batch *b, size_t more)
{
	size_t need = b->len + more, cap = b->cap ? b->cap : 4096;
	char *grown;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	grown = realloc(b->buf, cap);
	if (grown == NULL)
		return -1;
	b->buf = grown;
	b->cap = cap;
	return 0;
}

/* Appends "[item" or ",item"; the closing bracket is added at flush. */
static int batch_append(struct chat_batch *b, const char *item)
{
	size_t len = strlen(item);

	if (batch_reserve(b, len + 2) != 0)
		return -1;
	b->buf[b->len++] = b->items ? ',' : '[';
	memcpy(b->buf + b->len, item, len);
	b->len += len;
	b->items++;
	return 0;
}

static int batch_flush(struct chat_batch *b, const char *client_id,
		       const char *topic, struct chat_outbox *out)
{
	int rc;

	if (b->items == 0)
		return 0;
	b->buf[b->len++] = ']'; /* reserved by batch_append */
	rc = chat_outbox_add(out, client_id, topic, b->buf, b->len);
	batch_reset(b);
	return rc;
}

int chat_handoff_flush(struct chat_handoff *h, struct chat_outbox *out)
{
	int rc = batch_flush(&h->messages, h->bridge_client_id,
			     h->messages_topic, out);

	if (batch_flush(&h->requests, h->bridge_client_id, h->requests_topic,
			out) != 0)
		rc = -1;
	return rc;
}

static int add_item(struct chat_handoff *h, struct chat_batch *b,
		    const char *topic, const char *item,
		    struct chat_outbox *out)
{
	if (batch_append(b, item) != 0)
		return -1;
	if (b->len < h->flush_bytes)
		return 0;
	return batch_flush(b, h->bridge_client_id, topic, out);
}

int chat_handoff_add_message(struct chat_handoff *h, const char *item,
			     struct chat_outbox *out)
{
	return add_item(h, &h->messages, h->messages_topic, item, out);
}

int chat_handoff_add_request(struct chat_handoff *h, const char *item,
			     struct chat_outbox *out)
{
	return add_item(h, &h->requests, h->requests_topic, item, out);
}
