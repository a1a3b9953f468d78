#include "limits.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct bucket {
	double tokens;
	long long refilled_ms;
};

struct user_buckets {
	UT_hash_handle hh;
	char *user;
	struct bucket buckets[CHAT_LIMIT_KINDS];
	long long last_use_ms;
};

/* Users idle at least this long are forgotten (if their buckets are full
 * by then). */
#define MIN_IDLE_MS (60 * 1000)

void chat_limits_init(struct chat_limits *l,
		      const struct chat_rate rates[CHAT_LIMIT_KINDS])
{
	memset(l, 0, sizeof(*l));
	memcpy(l->rates, rates, sizeof(l->rates));
}

static void forget(struct chat_limits *l, struct user_buckets *u)
{
	HASH_DEL(l->by_user, u);
	free(u->user);
	free(u);
}

void chat_limits_clear(struct chat_limits *l)
{
	struct user_buckets *u, *tmp;

	HASH_ITER(hh, l->by_user, u, tmp)
		forget(l, u);
}

static struct user_buckets *buckets_of(struct chat_limits *l,
				       const char *user, long long now_ms)
{
	struct user_buckets *u = NULL;

	HASH_FIND_STR(l->by_user, user, u);
	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (u == NULL || (u->user = strdup(user)) == NULL) {
		free(u);
		return NULL;
	}
	for (int k = 0; k < CHAT_LIMIT_KINDS; k++)
		u->buckets[k] = (struct bucket){l->rates[k].burst, now_ms};
	HASH_ADD_KEYPTR(hh, l->by_user, u->user, strlen(u->user), u);
	return u;
}

static bool take(struct bucket *b, const struct chat_rate *rate,
		 long long now_ms)
{
	if (now_ms > b->refilled_ms) {
		b->tokens += (double)(now_ms - b->refilled_ms) *
			     rate->per_second / 1000.0;
		if (b->tokens > rate->burst)
			b->tokens = rate->burst;
		b->refilled_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

bool chat_limits_take(struct chat_limits *l, enum chat_limit_kind kind,
		      const char *user, long long now_ms)
{
	struct user_buckets *u = buckets_of(l, user, now_ms);

	if (u == NULL)
		return false;
	u->last_use_ms = now_ms;
	return take(&u->buckets[kind], &l->rates[kind], now_ms);
}

static bool full_by(const struct bucket *b, const struct chat_rate *rate,
		    long long now_ms)
{
	double elapsed_s = (double)(now_ms - b->refilled_ms) / 1000.0;

	return b->tokens + elapsed_s * rate->per_second >= rate->burst;
}

void chat_limits_expire(struct chat_limits *l, long long now_ms)
{
	struct user_buckets *u, *tmp;

	/* Forgetting a user hands it full buckets: only once they would be
	 * full anyway. */
	HASH_ITER(hh, l->by_user, u, tmp)
	{
		bool full = now_ms - u->last_use_ms > MIN_IDLE_MS;

		for (int k = 0; full && k < CHAT_LIMIT_KINDS; k++)
			full = full_by(&u->buckets[k], &l->rates[k], now_ms);
		if (full)
			forget(l, u);
	}
}
