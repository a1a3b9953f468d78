#include "handoff.h"

#include <stdlib.h>
#include <string.h>

void chat_handoff_init(struct chat_handoff *h, size_t flush_bytes,
		       const char *bridge_client_id,
		       const char *const topics[CHAT_HANDOFF_KINDS])
{
	memset(h, 0, sizeof(*h));
	h->flush_bytes = flush_bytes;
	h->bridge_client_id = bridge_client_id;
	for (int k = 0; k < CHAT_HANDOFF_KINDS; k++)
		h->batches[k].topic = topics[k];
}

void chat_handoff_free(struct chat_handoff *h)
{
	for (int k = 0; k < CHAT_HANDOFF_KINDS; k++) {
		free(h->batches[k].buf);
		h->batches[k].buf = NULL;
		h->batches[k].len = h->batches[k].cap = 0;
		h->batches[k].items = 0;
	}
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
		       struct chat_outbox *out)
{
	int rc;

	if (b->items == 0)
		return 0;
	b->buf[b->len++] = ']'; /* reserved by batch_append */
	rc = chat_outbox_add(out, client_id, b->topic, b->buf, b->len);
	b->len = 0;
	b->items = 0;
	return rc;
}

int chat_handoff_flush(struct chat_handoff *h, struct chat_outbox *out)
{
	int rc = 0;

	for (int k = 0; k < CHAT_HANDOFF_KINDS; k++)
		if (batch_flush(&h->batches[k], h->bridge_client_id, out) != 0)
			rc = -1;
	return rc;
}

int chat_handoff_add(struct chat_handoff *h, enum chat_handoff_kind kind,
		     const char *item, struct chat_outbox *out)
{
	struct chat_batch *b = &h->batches[kind];

	if (batch_append(b, item) != 0)
		return -1;
	if (b->len < h->flush_bytes)
		return 0;
	return batch_flush(b, h->bridge_client_id, out);
}

size_t chat_handoff_items(const struct chat_handoff *h,
			  enum chat_handoff_kind kind)
{
	return h->batches[kind].items;
}

size_t chat_handoff_total(const struct chat_handoff *h)
{
	size_t n = 0;

	for (int k = 0; k < CHAT_HANDOFF_KINDS; k++)
		n += h->batches[k].items;
	return n;
}
