#include "contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

struct contact_pair {
	UT_hash_handle hh;
	struct contact_pair *prev, *next; /* recency */
	long long loaded_ms;
	bool share;
	char key[]; /* viewer \x1f subject */
};

struct contact_hiding {
	UT_hash_handle hh;
	long long loaded_ms;
	bool hidden;
	char user[];
};

void chat_contacts_init(struct chat_contacts *c, struct chat_store *store,
			size_t capacity, long long ttl_ms)
{
	memset(c, 0, sizeof(*c));
	c->store = store;
	c->capacity = capacity;
	c->ttl_ms = ttl_ms;
}

static void drop_pair(struct chat_contacts *c, struct contact_pair *pair)
{
	HASH_DEL(c->pairs, pair);
	DL_DELETE(c->recent, pair);
	c->pair_count--;
	free(pair);
}

static void drop_hiding(struct chat_contacts *c, struct contact_hiding *h)
{
	HASH_DEL(c->hiding, h);
	free(h);
}

void chat_contacts_forget_all(struct chat_contacts *c)
{
	while (c->recent)
		drop_pair(c, c->recent);
}

void chat_contacts_forget_user(struct chat_contacts *c, const char *user)
{
	struct contact_hiding *h = NULL;

	HASH_FIND_STR(c->hiding, user, h);
	if (h)
		drop_hiding(c, h);
}

void chat_contacts_clear(struct chat_contacts *c)
{
	struct contact_hiding *h, *tmp;

	chat_contacts_forget_all(c);
	HASH_ITER(hh, c->hiding, h, tmp)
		drop_hiding(c, h);
}

/* Whether user hides its presence; -1 when the store cannot say. */
static int hides(struct chat_contacts *c, const char *user, long long now_ms)
{
	struct contact_hiding *h = NULL;
	size_t len = strlen(user);
	bool hidden;

	HASH_FIND_STR(c->hiding, user, h);
	if (h && now_ms - h->loaded_ms < c->ttl_ms)
		return h->hidden;
	if (chat_store_hides_presence(c->store, user, &hidden) ==
	    CHAT_STORE_ERROR)
		return -1;
	if (h == NULL) {
		h = malloc(sizeof(*h) + len + 1);
		if (h == NULL)
			return hidden;
		memcpy(h->user, user, len + 1);
		HASH_ADD_KEYPTR(hh, c->hiding, h->user, len, h);
	}
	h->hidden = hidden;
	h->loaded_ms = now_ms;
	return hidden;
}

/* Whether the two share a conversation; -1 when the store cannot say. */
static int share(struct chat_contacts *c, const char *viewer,
		 const char *subject, long long now_ms)
{
	struct contact_pair *pair = NULL;
	char key[160];
	int len = snprintf(key, sizeof(key), "%s\x1f%s", viewer, subject);
	bool shared;

	if (len <= 0 || (size_t)len >= sizeof(key))
		return -1;
	HASH_FIND(hh, c->pairs, key, (size_t)len, pair);
	if (pair && now_ms - pair->loaded_ms < c->ttl_ms) {
		DL_DELETE(c->recent, pair);
		DL_APPEND(c->recent, pair);
		return pair->share;
	}
	if (chat_store_share_conversation(c->store, viewer, subject,
					  &shared) == CHAT_STORE_ERROR)
		return -1;
	if (pair)
		drop_pair(c, pair);
	if (c->pair_count >= c->capacity && c->recent)
		drop_pair(c, c->recent);
	pair = malloc(sizeof(*pair) + (size_t)len + 1);
	if (pair == NULL)
		return shared;
	memcpy(pair->key, key, (size_t)len + 1);
	pair->share = shared;
	pair->loaded_ms = now_ms;
	HASH_ADD_KEYPTR(hh, c->pairs, pair->key, (size_t)len, pair);
	DL_APPEND(c->recent, pair);
	c->pair_count++;
	return shared;
}

bool chat_contacts_may_see(struct chat_contacts *c, const char *viewer,
			   const char *subject, long long now_ms)
{
	if (strcmp(viewer, subject) == 0)
		return true;
	return hides(c, viewer, now_ms) == 0 &&
	       hides(c, subject, now_ms) == 0 &&
	       share(c, viewer, subject, now_ms) == 1;
}
