#include "errors.h"

#include <cjson/cJSON.h>

struct error_text {
	const char *code;
	const char *message;
};

static const struct error_text error_texts[] = {
	[CHAT_OK] = {"ok", "ok"},
	[CHAT_ERR_BAD_JSON] = {"bad_json",
			       "payload must be a JSON object in valid UTF-8 "
			       "without \\u0000"},
	[CHAT_ERR_BAD_ENVELOPE] = {"bad_envelope",
				   "a message needs \"cmid\" (1-64 printable "
				   "ASCII characters), a string \"body\" and "
				   "at most 10 file ids in \"attachments\""},
	[CHAT_ERR_BAD_REQUEST] = {"bad_request",
				  "a request needs \"id\" (1-64 printable "
				  "ASCII characters) and a string \"op\""},
	[CHAT_ERR_BAD_RECEIPT] = {"bad_receipt",
				  "a receipt is an object with \"delivered\" "
				  "and/or \"read\", whole numbers from 0"},
	[CHAT_ERR_TOO_LARGE] = {"too_large", "payload is above the size limit"},
	[CHAT_ERR_NOT_MEMBER] = {"not_member",
				 "you are not a member of this conversation"},
	[CHAT_ERR_UNAVAILABLE] = {"unavailable",
				  "the message store is not connected; "
				  "nothing was accepted, retry later"},
	[CHAT_ERR_BUSY] = {"busy", "the server has too much work in flight; "
				   "nothing was accepted, retry soon"},
	[CHAT_ERR_RATE_LIMITED] = {"rate_limited",
				   "you are sending faster than allowed; "
				   "nothing was accepted, slow down"},
	[CHAT_ERR_INTERNAL] = {"internal", "unexpected server error"},
};

const char *chat_error_code(enum chat_error e)
{
	return error_texts[e].code;
}

const char *chat_error_message(enum chat_error e)
{
	return error_texts[e].message;
}

static char *print_and_free(cJSON *obj)
{
	char *out = obj ? cJSON_PrintUnformatted(obj) : NULL;

	cJSON_Delete(obj);
	return out;
}

char *chat_error_event_json(const char *code, const char *message,
			    const char *convo, const char *cmid)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL)
		return NULL;
	cJSON_AddStringToObject(obj, "type", "error");
	cJSON_AddStringToObject(obj, "code", code);
	cJSON_AddStringToObject(obj, "message", message);
	if (convo)
		cJSON_AddStringToObject(obj, "convo", convo);
	if (cmid)
		cJSON_AddStringToObject(obj, "cmid", cmid);
	return print_and_free(obj);
}

char *chat_error_response_json(const char *request_id, const char *op,
			       enum chat_error e, const char *message)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *err;

	if (obj == NULL)
		return NULL;
	if (request_id)
		cJSON_AddStringToObject(obj, "id", request_id);
	else
		cJSON_AddNullToObject(obj, "id");
	if (op)
		cJSON_AddStringToObject(obj, "op", op);
	cJSON_AddFalseToObject(obj, "ok");
	err = cJSON_AddObjectToObject(obj, "error");
	if (err) {
		cJSON_AddStringToObject(err, "code", chat_error_code(e));
		cJSON_AddStringToObject(err, "message",
					message ? message : chat_error_message(e));
	}
	return print_and_free(obj);
}
