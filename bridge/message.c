#include "message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Above 2^53 a JSON number can no longer hold every integer exactly. */
#define JSON_SAFE_INTEGER_MAX 9007199254740992.0

const char *bridge_json_string(const cJSON *object, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool bridge_json_count(const cJSON *item, long long *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return false;
	v = item->valuedouble;
	/* The range test also refuses NaN, before the cast could be UB. */
	if (!(v >= 0 && v <= JSON_SAFE_INTEGER_MAX))
		return false;
	if ((double)(long long)v != v)
		return false;
	*out = (long long)v;
	return true;
}

bool bridge_valid_blob_id(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return false;
	for (; id[n] != '\0'; n++)
		if (!((id[n] >= '0' && id[n] <= '9') ||
		      (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == BRIDGE_BLOB_ID_LEN;
}

/* A decimal uint64 without sign, spaces or leading zeros. */
static bool parse_id(const char *text, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (text == NULL || text[0] < '0' || text[0] > '9')
		return false;
	if (text[0] == '0' && text[1] != '\0')
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool copy_id(char *dst, size_t dstlen, const char *src,
                    bool (*valid)(const char *))
{
	if (src == NULL || !valid(src) || strlen(src) >= dstlen)
		return false;
	strcpy(dst, src);
	return true;
}

static const char *parse_fields(const cJSON *item, struct bridge_message *m)
{
	if (!cJSON_IsObject(item))
		return "not an object";
	if (!parse_id(bridge_json_string(item, "id"), &m->id))
		return "bad id";
	if (!copy_id(m->convo, sizeof(m->convo),
	             bridge_json_string(item, "convo"), chat_valid_convo_id))
		return "bad convo";
	if (!copy_id(m->from, sizeof(m->from), bridge_json_string(item, "from"),
	             chat_valid_user_id))
		return "bad from";
	if (!copy_id(m->cmid, sizeof(m->cmid), bridge_json_string(item, "cmid"),
	             chat_valid_cmid))
		return "bad cmid";
	if (!bridge_json_count(cJSON_GetObjectItemCaseSensitive(item, "ts"),
	                       &m->ts))
		return "bad ts";
	if (bridge_json_string(item, "body") == NULL)
		return "bad body";
	if (bridge_json_string(item, "client") == NULL)
		return "bad client";
	return NULL;
}

/*
 * The attachments as the bridge writes them: absent, or an array of at
 * most BRIDGE_ATTACHMENTS_MAX file ids (the plugin checked them already).
 * *out stays NULL when there are none; false for a malformed list.
 */
static bool parse_attachments(const cJSON *list, char **out, bool *no_memory)
{
	const cJSON *blob;
	struct json_writer w;

	*out = NULL;
	*no_memory = false;
	if (list == NULL)
		return true;
	if (!cJSON_IsArray(list) ||
	    cJSON_GetArraySize(list) > BRIDGE_ATTACHMENTS_MAX)
		return false;
	json_writer_init(&w);
	json_writer_open_array(&w);
	cJSON_ArrayForEach(blob, list)
	{
		if (!cJSON_IsString(blob) ||
		    !bridge_valid_blob_id(blob->valuestring)) {
			json_writer_free(&w);
			return false;
		}
		json_writer_string(&w, blob->valuestring);
	}
	json_writer_close_array(&w);
	if (!json_writer_ok(&w)) {
		json_writer_free(&w);
		*no_memory = true;
		return true;
	}
	*out = w.data;
	return true;
}

int bridge_message_parse(const cJSON *item, struct bridge_message *out,
                         const char **why)
{
	struct bridge_message m;
	bool no_memory;

	memset(&m, 0, sizeof(m));
	*why = parse_fields(item, &m);
	if (*why != NULL)
		return -1;
	if (!parse_attachments(
	        cJSON_GetObjectItemCaseSensitive(item, "attachments"),
	        &m.attachments, &no_memory)) {
		*why = "bad attachments";
		return -1;
	}
	m.body = strdup(bridge_json_string(item, "body"));
	m.client = strdup(bridge_json_string(item, "client"));
	if (m.body == NULL || m.client == NULL || no_memory) {
		bridge_message_clear(&m);
		*why = "out of memory";
		return -1;
	}
	*out = m;
	return 0;
}

int bridge_message_copy(struct bridge_message *dst,
                        const struct bridge_message *src)
{
	*dst = *src;
	dst->type = src->type ? strdup(src->type) : NULL;
	dst->body = src->body ? strdup(src->body) : NULL;
	dst->client = src->client ? strdup(src->client) : NULL;
	dst->attachments = src->attachments ? strdup(src->attachments) : NULL;
	if ((src->type && !dst->type) || (src->body && !dst->body) ||
	    (src->client && !dst->client) ||
	    (src->attachments && !dst->attachments)) {
		bridge_message_clear(dst);
		return -1;
	}
	return 0;
}

void bridge_message_clear(struct bridge_message *m)
{
	free(m->type);
	free(m->body);
	free(m->client);
	free(m->attachments);
	memset(m, 0, sizeof(*m));
}

void bridge_message_write(struct json_writer *w, const struct bridge_message *m)
{
	json_writer_open_object(w);
	json_writer_key(w, "convo");
	json_writer_string(w, m->convo);
	json_writer_key(w, "seq");
	json_writer_int(w, m->seq);
	json_writer_key(w, "id");
	json_writer_uint_string(w, m->id);
	json_writer_key(w, "from");
	json_writer_string(w, m->from);
	json_writer_key(w, "ts");
	json_writer_int(w, m->ts);
	json_writer_key(w, "cmid");
	json_writer_string(w, m->cmid);
	if (m->type != NULL) {
		/* The event was written by the bridge itself: JSON already. */
		json_writer_key(w, "type");
		json_writer_string(w, m->type);
		json_writer_key(w, "event");
		json_writer_fragment(w, m->body ? m->body : "{}",
		                     m->body ? strlen(m->body) : 2);
	} else {
		json_writer_key(w, "body");
		json_writer_string(w, m->body ? m->body : "");
	}
	/* Written by the bridge when it was stored: JSON already. */
	if (m->attachments != NULL) {
		json_writer_key(w, "attachments");
		json_writer_fragment(w, m->attachments, strlen(m->attachments));
	}
	json_writer_close_object(w);
}
