#include "user_list.h"

#include <stdlib.h>
#include <string.h>

int bridge_user_list_init(struct bridge_user_list *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	if (cap == 0)
		return 0;
	/* The hash points into the array: it never moves. */
	l->items = calloc(cap, sizeof(*l->items));
	if (l->items == NULL)
		return -1;
	l->cap = cap;
	return 0;
}

void bridge_user_list_free(struct bridge_user_list *l)
{
	HASH_CLEAR(hh, l->by_id);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

bool bridge_user_list_contains(const struct bridge_user_list *l, const char *id)
{
	struct bridge_user *found = NULL;

	HASH_FIND_STR(l->by_id, id, found);
	return found != NULL;
}

int bridge_user_list_add(struct bridge_user_list *l, const char *id)
{
	struct bridge_user *u;

	if (bridge_user_list_contains(l, id))
		return 0;
	if (l->count == l->cap || strlen(id) >= sizeof(u->id))
		return -1;
	u = &l->items[l->count++];
	strcpy(u->id, id);
	HASH_ADD_STR(l->by_id, id, u);
	return 0;
}

void bridge_user_list_write(struct json_writer *w,
                            const struct bridge_user_list *l)
{
	json_writer_open_array(w);
	for (size_t i = 0; i < l->count; i++)
		json_writer_string(w, l->items[i].id);
	json_writer_close_array(w);
}

void bridge_user_list_join(const struct bridge_user_list *l, char *out,
                           size_t outlen)
{
	static const char more[] = "...";
	size_t used = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < l->count; i++) {
		const char *sep = i ? ", " : "";
		size_t need = strlen(sep) + strlen(l->items[i].id);

		if (used + need + sizeof(more) > outlen) {
			if (used + sizeof(more) <= outlen)
				strcpy(out + used, more);
			return;
		}
		strcpy(out + used, sep);
		strcpy(out + used + strlen(sep), l->items[i].id);
		used += need;
	}
}
