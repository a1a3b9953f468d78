#include "members.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

struct member {
	UT_hash_handle hh;
	char *user;
	long long joined_seq;
	long long left_seq; /* meaningful when `left` */
	bool left;
};

struct chat_convo {
	UT_hash_handle hh;
	struct chat_convo *prev, *next; /* recency list */
	char *id;
	bool channel;
	bool broadcast;
	struct member *members; /* uthash head */
	size_t current;		/* members who have not left */
	double budget;		/* delivery tokens */
	long long budget_ms;	/* when last refilled; 0: full */
};

void chat_members_init(struct chat_members *m, struct chat_store *store,
		       size_t capacity)
{
	memset(m, 0, sizeof(*m));
	m->store = store;
	m->capacity = capacity;
}

static void free_convo(struct chat_convo *c)
{
	struct member *mb, *tmp;

	HASH_ITER(hh, c->members, mb, tmp)
	{
		HASH_DEL(c->members, mb);
		free(mb->user);
		free(mb);
	}
	free(c->id);
	free(c);
}

static void drop(struct chat_members *m, struct chat_convo *c)
{
	HASH_DEL(m->by_id, c);
	DL_DELETE(m->recent, c);
	m->count--;
	free_convo(c);
}

void chat_members_clear(struct chat_members *m)
{
	while (m->recent)
		drop(m, m->recent);
}

static void add_member(const struct chat_store_member *row, void *arg)
{
	struct chat_convo *c = arg;
	struct member *mb = calloc(1, sizeof(*mb));

	if (mb == NULL || (mb->user = strdup(row->user)) == NULL) {
		free(mb);
		return; /* the caller sees the count fall short */
	}
	mb->joined_seq = row->joined_seq;
	mb->left = row->left;
	mb->left_seq = row->left_seq;
	HASH_ADD_KEYPTR(hh, c->members, mb->user, strlen(mb->user), mb);
	if (!mb->left)
		c->current++;
}

static enum chat_members_result load(struct chat_members *m,
				     const char *convo,
				     struct chat_convo **out)
{
	struct chat_store_convo info;
	struct chat_convo *c;
	enum chat_store_result rc;

	rc = chat_store_convo_info(m->store, convo, &info);
	if (rc == CHAT_STORE_NOT_FOUND)
		return CHAT_MEMBERS_NO_SUCH_CONVO;
	if (rc != CHAT_STORE_OK)
		return CHAT_MEMBERS_UNAVAILABLE;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->id = strdup(convo)) == NULL) {
		free(c);
		return CHAT_MEMBERS_UNAVAILABLE;
	}
	c->channel = info.channel;
	c->broadcast = info.broadcast;
	if (chat_store_each_member(m->store, convo, add_member, c) !=
	    CHAT_STORE_OK) {
		free_convo(c);
		return CHAT_MEMBERS_UNAVAILABLE;
	}
	*out = c;
	return CHAT_MEMBERS_OK;
}

struct chat_convo *chat_members_peek(struct chat_members *m,
				     const char *convo)
{
	struct chat_convo *c = NULL;

	HASH_FIND_STR(m->by_id, convo, c);
	return c;
}

enum chat_members_result chat_members_get(struct chat_members *m,
					  const char *convo,
					  struct chat_convo **out)
{
	struct chat_convo *c = chat_members_peek(m, convo);
	enum chat_members_result rc;

	if (c) {
		/* Most recently used goes last. */
		DL_DELETE(m->recent, c);
		DL_APPEND(m->recent, c);
		*out = c;
		return CHAT_MEMBERS_OK;
	}
	rc = load(m, convo, &c);
	if (rc != CHAT_MEMBERS_OK)
		return rc;
	if (m->count >= m->capacity && m->recent)
		drop(m, m->recent);
	HASH_ADD_KEYPTR(hh, m->by_id, c->id, strlen(c->id), c);
	DL_APPEND(m->recent, c);
	m->count++;
	*out = c;
	return CHAT_MEMBERS_OK;
}

void chat_members_forget(struct chat_members *m, const char *convo)
{
	struct chat_convo *c = chat_members_peek(m, convo);

	if (c)
		drop(m, c);
}

bool chat_convo_is_broadcast(const struct chat_convo *c)
{
	return c->broadcast;
}

bool chat_convo_is_channel(const struct chat_convo *c)
{
	return c->channel;
}

size_t chat_convo_member_count(const struct chat_convo *c)
{
	return c->current;
}

static struct member *find_member(const struct chat_convo *c,
				  const char *user)
{
	struct member *mb = NULL;

	HASH_FIND_STR(c->members, user, mb);
	return mb;
}

bool chat_convo_has_member(const struct chat_convo *c, const char *user)
{
	struct member *mb = find_member(c, user);

	return mb && !mb->left;
}

static bool member_sees(const struct member *mb, long long seq)
{
	return mb->joined_seq < seq && (!mb->left || seq <= mb->left_seq);
}

bool chat_convo_sees(const struct chat_convo *c, const char *user,
		     long long seq)
{
	struct member *mb = find_member(c, user);

	return mb && member_sees(mb, seq);
}

void chat_convo_each_reader(const struct chat_convo *c, long long seq,
			    void (*fn)(const char *user, void *arg), void *arg)
{
	const struct member *mb, *tmp;

	HASH_ITER(hh, c->members, mb, tmp)
	{
		if (member_sees(mb, seq))
			fn(mb->user, arg);
	}
}

bool chat_convo_take_deliveries(struct chat_convo *c, double cost,
				double per_second, long long now_ms)
{
	double burst = per_second; /* one second's worth */

	if (c->budget_ms == 0) {
		c->budget = burst;
	} else if (now_ms > c->budget_ms) {
		c->budget += (double)(now_ms - c->budget_ms) * per_second /
			     1000.0;
		if (c->budget > burst)
			c->budget = burst;
	}
	c->budget_ms = now_ms;
	/* A message to a group larger than a second's budget still goes
	 * out when the bucket is full, so no group is silenced for good. */
	if (c->budget < cost && c->budget < burst)
		return false;
	c->budget -= cost;
	return true;
}
