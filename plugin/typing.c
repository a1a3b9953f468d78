#include "typing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

struct typing_entry {
	UT_hash_handle hh;
	struct typing_entry *prev, *next;
	long long at_ms;
	char key[]; /* user \x1f convo */
};

void chat_typing_init(struct chat_typing *t, long long interval_ms)
{
	memset(t, 0, sizeof(*t));
	t->interval_ms = interval_ms;
}

static void drop(struct chat_typing *t, struct typing_entry *e)
{
	HASH_DEL(t->by_key, e);
	DL_DELETE(t->oldest, e);
	t->count--;
	free(e);
}

void chat_typing_clear(struct chat_typing *t)
{
	while (t->oldest)
		drop(t, t->oldest);
}

bool chat_typing_allow(struct chat_typing *t, const char *user,
		       const char *convo, long long now_ms)
{
	struct typing_entry *e = NULL;
	char key[160];
	int len = snprintf(key, sizeof(key), "%s\x1f%s", user, convo);

	if (len <= 0 || (size_t)len >= sizeof(key))
		return false;
	HASH_FIND(hh, t->by_key, key, (size_t)len, e);
	if (e && now_ms - e->at_ms < t->interval_ms)
		return false;
	if (e)
		drop(t, e);
	e = malloc(sizeof(*e) + (size_t)len + 1);
	if (e == NULL)
		return false;
	memcpy(e->key, key, (size_t)len + 1);
	e->at_ms = now_ms;
	HASH_ADD_KEYPTR(hh, t->by_key, e->key, (size_t)len, e);
	DL_APPEND(t->oldest, e);
	t->count++;
	return true;
}

void chat_typing_expire(struct chat_typing *t, long long now_ms)
{
	while (t->oldest && now_ms - t->oldest->at_ms >= t->interval_ms)
		drop(t, t->oldest);
}
