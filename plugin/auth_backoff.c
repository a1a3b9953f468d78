#include "auth_backoff.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* The first refusal period once the free failures are used up. */
#define FIRST_BACKOFF_MS 1000
/* A record without failures for this long is forgotten. */
#define QUIET_MS (10 * 60 * 1000)
/* At most this many records: past it, the oldest one not enforcing a
 * period makes room, so a spray of invented names can neither exhaust
 * memory nor switch the back-off off. */
#define MAX_RECORDS 100000
/* "u/" + user id + "/" + address, or "a/" + address: '/' is in neither. */
#define KEY_MAX 128

struct failure_record {
	UT_hash_handle hh;
	long failures;
	long long last_failure_ms;
	long long blocked_until_ms;
	char key[];
};

void chat_auth_backoff_init(struct chat_auth_backoff *b, long free_per_user,
			    long free_per_address, long long max_ms)
{
	memset(b, 0, sizeof(*b));
	b->free_per_user = free_per_user;
	b->free_per_address = free_per_address;
	b->max_ms = max_ms;
}

static void forget(struct chat_auth_backoff *b, struct failure_record *r)
{
	HASH_DEL(b->by_key, r);
	free(r);
	b->count--;
}

void chat_auth_backoff_clear(struct chat_auth_backoff *b)
{
	struct failure_record *r, *tmp;

	HASH_ITER(hh, b->by_key, r, tmp)
		forget(b, r);
}

/* The record of a user name tried from an address ('u'), or of an
 * address ('a', user NULL). */
static bool make_key(char key[KEY_MAX], char kind, const char *user,
		     const char *address)
{
	if (address == NULL || (kind == 'u' && user == NULL))
		return false;
	if (kind == 'a')
		return snprintf(key, KEY_MAX, "a/%s", address) < KEY_MAX;
	return snprintf(key, KEY_MAX, "u/%s/%s", user, address) < KEY_MAX;
}

static struct failure_record *find(struct chat_auth_backoff *b, char kind,
				   const char *user, const char *address)
{
	struct failure_record *r = NULL;
	char key[KEY_MAX];

	if (make_key(key, kind, user, address))
		HASH_FIND_STR(b->by_key, key, r);
	return r;
}

/* Makes room by forgetting the oldest record that enforces nothing now.
 * false when every record does. */
static bool evict_one(struct chat_auth_backoff *b, long long now_ms)
{
	struct failure_record *r, *tmp;

	HASH_ITER(hh, b->by_key, r, tmp)
	{
		if (r->blocked_until_ms <= now_ms) {
			forget(b, r);
			return true;
		}
	}
	return false;
}

static long long remaining(const struct failure_record *r, long long now_ms)
{
	return r && r->blocked_until_ms > now_ms ? r->blocked_until_ms - now_ms
						 : 0;
}

long long chat_auth_backoff_wait(struct chat_auth_backoff *b, const char *user,
				 const char *address, long long now_ms)
{
	long long by_user = remaining(find(b, 'u', user, address), now_ms);
	long long by_address = remaining(find(b, 'a', NULL, address), now_ms);

	return by_user > by_address ? by_user : by_address;
}

static void count_failure(struct chat_auth_backoff *b, char kind,
			  const char *user, const char *address,
			  long free_failures, long long now_ms)
{
	struct failure_record *r = find(b, kind, user, address);
	char key[KEY_MAX];
	long long delay = FIRST_BACKOFF_MS;

	if (r == NULL) {
		if (!make_key(key, kind, user, address) ||
		    (b->count >= MAX_RECORDS && !evict_one(b, now_ms)))
			return;
		r = calloc(1, sizeof(*r) + strlen(key) + 1);
		if (r == NULL)
			return;
		strcpy(r->key, key);
		HASH_ADD_STR(b->by_key, key, r);
		b->count++;
	}
	r->failures++;
	r->last_failure_ms = now_ms;
	if (r->failures <= free_failures)
		return;
	for (long extra = r->failures - free_failures - 1;
	     extra > 0 && delay < b->max_ms; extra--)
		delay *= 2;
	r->blocked_until_ms = now_ms + (delay < b->max_ms ? delay : b->max_ms);
}

void chat_auth_backoff_failed(struct chat_auth_backoff *b, const char *user,
			      const char *address, long long now_ms)
{
	if (user)
		count_failure(b, 'u', user, address, b->free_per_user, now_ms);
	count_failure(b, 'a', NULL, address, b->free_per_address, now_ms);
}

void chat_auth_backoff_succeeded(struct chat_auth_backoff *b,
				 const char *user, const char *address)
{
	struct failure_record *r = find(b, 'u', user, address);

	if (r)
		forget(b, r);
}

void chat_auth_backoff_expire(struct chat_auth_backoff *b, long long now_ms)
{
	struct failure_record *r, *tmp;

	HASH_ITER(hh, b->by_key, r, tmp)
	{
		if (r->blocked_until_ms <= now_ms &&
		    now_ms - r->last_failure_ms > QUIET_MS)
			forget(b, r);
	}
}
