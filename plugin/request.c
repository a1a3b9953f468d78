#include "request.h"

#include "ids.h"
#include "text.h"

#include <cjson/cJSON.h>
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
	req->root = cJSON_ParseWithLength(payload, len);
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

char *chat_request_wrap(struct chat_request *req, const char *user,
			const char *client_id)
{
	cJSON *wrapper = cJSON_CreateObject();
	char *out = NULL;

	if (wrapper == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(wrapper, "user", user) ||
	    !cJSON_AddStringToObject(wrapper, "client", client_id))
		goto done;
	cJSON_AddItemToObject(wrapper, "req", req->root);
	req->root = NULL; /* now owned by wrapper */
	req->id = req->op = NULL;
	out = cJSON_PrintUnformatted(wrapper);
done:
	cJSON_Delete(wrapper);
	return out;
}
