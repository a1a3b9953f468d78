#include "request.h"

#include "ids.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum chat_error chat_request_parse(const char *payload, size_t len,
				   size_t max_bytes, struct chat_request *req)
{
	const cJSON *id, *op;

	memset(req, 0, sizeof(*req));
	if (len > max_bytes)
		return CHAT_ERR_TOO_LARGE;
	if (payload == NULL || !chat_json_text_acceptable(payload, len))
		return CHAT_ERR_BAD_JSON;
	req->text = payload;
	req->len = len;
	req->root = chat_json_parse_exact(payload, len);
	if (!cJSON_IsObject(req->root))
		return CHAT_ERR_BAD_JSON;
	id = cJSON_GetObjectItemCaseSensitive(req->root, "id");
	if (cJSON_IsString(id) && chat_valid_request_id(id->valuestring))
		req->id = id->valuestring;
	op = cJSON_GetObjectItemCaseSensitive(req->root, "op");
	if (req->id == NULL || !cJSON_IsString(op) ||
	    op->valuestring[0] == '\0' ||
	    strlen(op->valuestring) > CHAT_OP_MAX)
		return CHAT_ERR_BAD_REQUEST;
	req->op = op->valuestring;
	return CHAT_OK;
}

void chat_request_free(struct chat_request *req)
{
	cJSON_Delete(req->root);
	memset(req, 0, sizeof(*req));
}

char *chat_request_wrap(const struct chat_request *req,
			const struct chat_requester *from)
{
	cJSON *header = cJSON_CreateObject();
	char *head = NULL, *out = NULL;
	char device[24];
	size_t head_len;

	if (header == NULL)
		return NULL;
	snprintf(device, sizeof(device), "%lld", from->device_id);
	if (!cJSON_AddStringToObject(header, "user", from->user) ||
	    !cJSON_AddStringToObject(header, "client", from->client_id) ||
	    !cJSON_AddStringToObject(header, "device", device))
		goto done;
	head = cJSON_PrintUnformatted(header);
	if (head == NULL)
		goto done;
	/* {"user":…,"client":…} becomes {"user":…,"client":…,"req":…} */
	head_len = strlen(head) - 1;
	out = malloc(head_len + 7 + req->len + 2);
	if (out == NULL)
		goto done;
	memcpy(out, head, head_len);
	memcpy(out + head_len, ",\"req\":", 7);
	memcpy(out + head_len + 7, req->text, req->len);
	memcpy(out + head_len + 7 + req->len, "}", 2);
done:
	free(head);
	cJSON_Delete(header);
	return out;
}
