#include "handoff.h"

#include "log.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

void bridge_batch_clear(struct bridge_batch *b)
{
	for (size_t i = 0; i < b->count; i++)
		bridge_message_clear(&b->messages[i]);
	free(b->messages);
	memset(b, 0, sizeof(*b));
}

void bridge_request_queue_clear(struct bridge_request_queue *q)
{
	for (size_t i = 0; i < q->count; i++) {
		free(q->requests[i].client);
		cJSON_Delete(q->requests[i].req);
	}
	free(q->requests);
	memset(q, 0, sizeof(*q));
}

void bridge_receipt_queue_clear(struct bridge_receipt_queue *q)
{
	free(q->receipts);
	memset(q, 0, sizeof(*q));
}

void bridge_presence_queue_clear(struct bridge_presence_queue *q)
{
	free(q->changes);
	memset(q, 0, sizeof(*q));
}

void bridge_chunk_queue_clear(struct bridge_chunk_queue *q)
{
	for (size_t i = 0; i < q->count; i++) {
		free(q->chunks[i].client);
		free(q->chunks[i].bytes);
	}
	free(q->chunks);
	memset(q, 0, sizeof(*q));
}

/* Grows an array of elements of size each so that one more fits. */
static int grow(void **items, size_t *cap, size_t count, size_t size)
{
	size_t want = *cap ? *cap * 2 : 64;
	void *grown;

	if (count < *cap)
		return 0;
	grown = realloc(*items, want * size);
	if (grown == NULL)
		return -1;
	*items = grown;
	*cap = want;
	return 0;
}

/*
 * Parses a hand-off payload, which must be a JSON array. cJSON would let an
 * escaped NUL silently cut a string short, so such text is refused whole:
 * the plugin never sends it, and a body must be stored exactly as sent.
 * A refused payload costs one log line and touches nothing else.
 */
static cJSON *parse_array(const char *payload, size_t len, const char *what)
{
	const char *why = NULL;
	cJSON *root = NULL;

	if (!chat_json_text_acceptable_depth(payload, len,
	                                     CHAT_JSON_MAX_DEPTH + 8))
		why = "not acceptable UTF-8 JSON text";
	else if ((root = chat_json_parse_exact(payload, len)) == NULL)
		why = "not valid JSON";
	else if (!cJSON_IsArray(root))
		why = "not a JSON array";
	if (why == NULL)
		return root;
	bridge_client_error("dropped a %s hand-off of %zu bytes: %s", what, len,
	                    why);
	cJSON_Delete(root);
	return NULL;
}

/* The items of one hand-off that were left out, for one log line. */
struct skipped {
	size_t malformed;
	const char *first_reason;
	size_t no_memory;
};

static void skip(struct skipped *s, const char *why)
{
	if (s->malformed++ == 0)
		s->first_reason = why;
}

static void log_skipped(const struct skipped *s, const char *what,
                        const cJSON *root)
{
	int items = cJSON_GetArraySize(root);

	if (s->malformed > 0)
		bridge_client_error("skipped %zu of %d handed-off %s (first: "
		                    "%s)",
		                    s->malformed, items, what, s->first_reason);
	if (s->no_memory > 0)
		bridge_error("skipped %zu of %d handed-off %s: out of memory",
		             s->no_memory, items, what);
}

size_t bridge_handoff_messages(const char *payload, size_t len,
                               struct bridge_batch *batch)
{
	cJSON *root = parse_array(payload, len, "message");
	struct skipped skipped = {0, NULL, 0};
	const cJSON *item;
	size_t taken = 0;

	if (root == NULL)
		return 0;
	cJSON_ArrayForEach(item, root)
	{
		struct bridge_message m;
		const char *why;

		if (bridge_message_parse(item, &m, &why) != 0) {
			skip(&skipped, why);
			continue;
		}
		if (grow((void **)&batch->messages, &batch->cap, batch->count,
		         sizeof(*batch->messages)) != 0) {
			skipped.no_memory++;
			bridge_message_clear(&m);
			continue;
		}
		batch->messages[batch->count++] = m;
		taken++;
	}
	log_skipped(&skipped, "messages", root);
	cJSON_Delete(root);
	return taken;
}

/* A device id: a positive decimal without sign or leading zeros. */
static bool parse_device(const char *text, long long *out)
{
	long long v = 0;
	size_t n = 0;

	if (text == NULL || text[0] < '1' || text[0] > '9')
		return false;
	for (; text[n] != '\0'; n++) {
		if (text[n] < '0' || text[n] > '9' || n >= 18)
			return false;
		v = v * 10 + (text[n] - '0');
	}
	*out = v;
	return true;
}

/* The "device" of a hand-off item; 0 when absent or not a device id. */
static long long read_device(const cJSON *item)
{
	long long device = 0;

	if (!parse_device(bridge_json_string(item, "device"), &device))
		return 0;
	return device;
}

static const char *check_request(const cJSON *item)
{
	if (!cJSON_IsObject(item))
		return "not an object";
	if (!chat_valid_user_id(bridge_json_string(item, "user")))
		return "bad user";
	if (bridge_json_string(item, "client") == NULL)
		return "bad client";
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(item, "req")))
		return "req is not an object";
	return NULL;
}

/* Moves one valid request out of the parsed array into the queue. */
static int take_request(cJSON *item, struct bridge_request_queue *q)
{
	struct bridge_request *r;

	if (grow((void **)&q->requests, &q->cap, q->count,
	         sizeof(*q->requests)) != 0)
		return -1;
	r = &q->requests[q->count];
	memset(r, 0, sizeof(*r));
	r->client = strdup(bridge_json_string(item, "client"));
	if (r->client == NULL)
		return -1;
	strcpy(r->user, bridge_json_string(item, "user"));
	r->device = read_device(item);
	r->req = cJSON_DetachItemFromObjectCaseSensitive(item, "req");
	q->count++;
	return 0;
}

size_t bridge_handoff_requests(const char *payload, size_t len,
                               struct bridge_request_queue *queue)
{
	cJSON *root = parse_array(payload, len, "request");
	struct skipped skipped = {0, NULL, 0};
	cJSON *item;
	size_t taken = 0;

	if (root == NULL)
		return 0;
	cJSON_ArrayForEach(item, root)
	{
		const char *why = check_request(item);

		if (why != NULL) {
			skip(&skipped, why);
			continue;
		}
		if (take_request(item, queue) != 0) {
			skipped.no_memory++;
			continue;
		}
		taken++;
	}
	log_skipped(&skipped, "requests", root);
	cJSON_Delete(root);
	return taken;
}

/* An optional cursor of a receipt: absent (-1) or a whole number. */
static bool read_cursor(const cJSON *item, const char *key, long long *out)
{
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(item, key);

	*out = -1;
	return value == NULL || bridge_json_count(value, out);
}

static const char *parse_receipt(const cJSON *item, struct bridge_receipt *r)
{
	const char *convo = bridge_json_string(item, "convo");
	const char *user = bridge_json_string(item, "user");

	if (!cJSON_IsObject(item))
		return "not an object";
	if (!chat_valid_convo_id(convo))
		return "bad convo";
	if (!chat_valid_user_id(user))
		return "bad user";
	if (bridge_json_string(item, "client") == NULL)
		return "bad client";
	if (!read_cursor(item, "delivered", &r->delivered) ||
	    !read_cursor(item, "read", &r->read))
		return "bad cursor";
	if (r->delivered < 0 && r->read < 0)
		return "no cursor";
	strcpy(r->convo, convo);
	strcpy(r->user, user);
	return NULL;
}

size_t bridge_handoff_receipts(const char *payload, size_t len,
                               struct bridge_receipt_queue *queue)
{
	cJSON *root = parse_array(payload, len, "receipt");
	struct skipped skipped = {0, NULL, 0};
	const cJSON *item;
	size_t taken = 0;

	if (root == NULL)
		return 0;
	cJSON_ArrayForEach(item, root)
	{
		struct bridge_receipt r;
		const char *why = parse_receipt(item, &r);

		if (why != NULL) {
			skip(&skipped, why);
			continue;
		}
		if (grow((void **)&queue->receipts, &queue->cap, queue->count,
		         sizeof(*queue->receipts)) != 0) {
			skipped.no_memory++;
			continue;
		}
		queue->receipts[queue->count++] = r;
		taken++;
	}
	log_skipped(&skipped, "receipts", root);
	cJSON_Delete(root);
	return taken;
}

static const char *parse_presence(const cJSON *item, struct bridge_presence *p)
{
	const char *user = bridge_json_string(item, "user");
	const cJSON *online = cJSON_GetObjectItemCaseSensitive(item, "online");

	if (!cJSON_IsObject(item))
		return "not an object";
	if (!chat_valid_user_id(user))
		return "bad user";
	if (!cJSON_IsBool(online))
		return "bad online";
	p->online = cJSON_IsTrue(online);
	p->last_seen = -1;
	if (!p->online && !bridge_json_count(cJSON_GetObjectItemCaseSensitive(
	                                         item, "last_seen"),
	                                     &p->last_seen))
		return "bad last_seen";
	strcpy(p->user, user);
	return NULL;
}

size_t bridge_handoff_presence(const char *payload, size_t len,
                               struct bridge_presence_queue *queue)
{
	cJSON *root = parse_array(payload, len, "presence");
	struct skipped skipped = {0, NULL, 0};
	const cJSON *item;
	size_t taken = 0;

	if (root == NULL)
		return 0;
	cJSON_ArrayForEach(item, root)
	{
		struct bridge_presence p;
		const char *why = parse_presence(item, &p);

		if (why != NULL) {
			skip(&skipped, why);
			continue;
		}
		if (grow((void **)&queue->changes, &queue->cap, queue->count,
		         sizeof(*queue->changes)) != 0) {
			skipped.no_memory++;
			continue;
		}
		queue->changes[queue->count++] = p;
		taken++;
	}
	log_skipped(&skipped, "presence changes", root);
	cJSON_Delete(root);
	return taken;
}

/* The header line of a chunk is short; anything longer is not one. */
#define CHUNK_HEADER_MAX 1024

static const char *parse_chunk_header(const cJSON *header,
                                      struct bridge_chunk *c)
{
	const char *user = bridge_json_string(header, "user");
	const char *upload = bridge_json_string(header, "upload");

	if (!cJSON_IsObject(header))
		return "header is not an object";
	if (!chat_valid_user_id(user))
		return "bad user";
	if (bridge_json_string(header, "client") == NULL)
		return "bad client";
	if (!chat_valid_convo_id(upload))
		return "bad upload";
	if (!bridge_json_count(
	        cJSON_GetObjectItemCaseSensitive(header, "index"), &c->index))
		return "bad index";
	strcpy(c->user, user);
	strcpy(c->upload, upload);
	return NULL;
}

/* Copies the client id and the bytes; -1 when out of memory. */
static int take_chunk(const cJSON *header, const char *bytes, size_t len,
                      struct bridge_chunk *c, struct bridge_chunk_queue *q)
{
	if (grow((void **)&q->chunks, &q->cap, q->count, sizeof(*q->chunks)))
		return -1;
	c->client = strdup(bridge_json_string(header, "client"));
	c->bytes = malloc(len);
	if (c->client == NULL || c->bytes == NULL) {
		free(c->client);
		free(c->bytes);
		return -1;
	}
	memcpy(c->bytes, bytes, len);
	c->len = len;
	q->chunks[q->count++] = *c;
	return 0;
}

/* Reads the header line; *bytes is where the chunk starts. */
static const char *read_chunk(const char *payload, size_t len,
                              struct bridge_chunk *c, cJSON **header,
                              const char **bytes)
{
	size_t scan = len < CHUNK_HEADER_MAX ? len : CHUNK_HEADER_MAX;
	const char *newline = memchr(payload, '\n', scan);
	size_t header_len;

	if (newline == NULL)
		return "no header line";
	header_len = (size_t)(newline - payload);
	if (!chat_json_text_acceptable(payload, header_len) ||
	    (*header = chat_json_parse_exact(payload, header_len)) == NULL)
		return "header is not JSON";
	*bytes = newline + 1;
	if (*bytes == payload + len)
		return "no bytes";
	return parse_chunk_header(*header, c);
}

size_t bridge_handoff_chunk(const char *payload, size_t len,
                            struct bridge_chunk_queue *queue)
{
	struct bridge_chunk c;
	cJSON *header = NULL;
	const char *bytes = NULL, *why;
	size_t taken = 0;

	memset(&c, 0, sizeof(c));
	why = read_chunk(payload, len, &c, &header, &bytes);
	if (why != NULL)
		bridge_client_error("dropped a file chunk hand-off of %zu "
		                    "bytes: %s",
		                    len, why);
	else if (take_chunk(header, bytes, len - (size_t)(bytes - payload), &c,
	                    queue) != 0)
		bridge_error("dropped a file chunk of %zu bytes: out of memory",
		             len);
	else
		taken = 1;
	cJSON_Delete(header);
	return taken;
}
