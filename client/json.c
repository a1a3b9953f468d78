#include "json.h"

/* Integers above this are no longer exact in a double. */
#define JSON_INTEGER_MAX 9007199254740992.0

const char *client_json_string(const cJSON *obj, const char *name)
{
	const cJSON *item;

	if (!cJSON_IsObject(obj))
		return NULL;
	item = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

int client_json_integer(const cJSON *obj, const char *name, long long *out)
{
	const cJSON *item;
	double v;

	if (!cJSON_IsObject(obj))
		return -1;
	item = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsNumber(item))
		return -1;
	v = item->valuedouble;
	if (!(v >= 0 && v <= JSON_INTEGER_MAX) || (double)(long long)v != v)
		return -1;
	*out = (long long)v;
	return 0;
}

bool client_json_true(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) &&
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}
