#include "system_message.h"

#include "json_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bridge_system_cmid(char out[BRIDGE_CMID_MAX + 1], const char *request,
                        const char *suffix)
{
	snprintf(out, BRIDGE_CMID_MAX + 1, "%s%s%s%s", BRIDGE_CMID_PREFIX,
	         request, suffix ? " " : "", suffix ? suffix : "");
}

/* Moves the writer's text into *out; -1 when writing failed. */
static int take_text(struct json_writer *w, char **out)
{
	if (!json_writer_ok(w)) {
		json_writer_free(w);
		return -1;
	}
	*out = w->data;
	return 0;
}

static int removed_users(const char *event, char **also)
{
	cJSON *parsed = cJSON_Parse(event);
	const cJSON *users = cJSON_GetObjectItemCaseSensitive(parsed, "users");
	const cJSON *user;
	struct json_writer w;

	/* The bridge wrote the event; an unreadable one reaches nobody
	 * more. */
	if (!cJSON_IsArray(users) || cJSON_GetArraySize(users) == 0) {
		cJSON_Delete(parsed);
		return 0;
	}
	json_writer_init(&w);
	json_writer_open_array(&w);
	cJSON_ArrayForEach(user, users)
	{
		if (cJSON_IsString(user))
			json_writer_string(&w, user->valuestring);
	}
	json_writer_close_array(&w);
	cJSON_Delete(parsed);
	return take_text(&w, also);
}

int bridge_system_also(const struct bridge_message *m, char **also)
{
	struct json_writer w;

	*also = NULL;
	if (m->type == NULL)
		return 0;
	if (strcmp(m->type, "removed") == 0)
		return removed_users(m->body, also);
	if (strcmp(m->type, "left") != 0)
		return 0;
	json_writer_init(&w);
	json_writer_open_array(&w);
	json_writer_string(&w, m->from);
	json_writer_close_array(&w);
	return take_text(&w, also);
}
