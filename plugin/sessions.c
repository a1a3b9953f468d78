#include "sessions.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

/* One per connection (and per durable session left behind), one per user
 * with any: kept small, with their names inline. */
struct session_entry {
	UT_hash_handle hh;
	struct session_entry *prev, *next; /* the owner's offline ids */
	struct session_user *owner;
	const void *client; /* NULL while disconnected */
	long long device_id;
	unsigned requests_active_s; /* last request or answer, epoch s */
	unsigned short requests;    /* forwarded, not yet answered */
	unsigned short subscriptions; /* made on this connection */
	unsigned short connects;      /* connections with this id, up to max */
	bool durable;
	char client_id[];
};

struct session_user {
	UT_hash_handle hh;
	struct session_entry *offline; /* oldest first */
	unsigned connections;
	unsigned owned;
	char name[];
};

void chat_sessions_init(struct chat_sessions *s, size_t max_owned_ids)
{
	memset(s, 0, sizeof(*s));
	s->max_owned_ids = max_owned_ids;
}

static struct session_user *find_user(struct chat_sessions *s,
				      const char *name)
{
	struct session_user *u = NULL;

	HASH_FIND_STR(s->by_user, name, u);
	return u;
}

static struct session_user *get_user(struct chat_sessions *s, const char *name)
{
	struct session_user *u = find_user(s, name);
	size_t len = strlen(name);

	if (u)
		return u;
	u = calloc(1, sizeof(*u) + len + 1);
	if (u == NULL)
		return NULL;
	memcpy(u->name, name, len + 1);
	HASH_ADD_KEYPTR(hh, s->by_user, u->name, len, u);
	return u;
}

/* A user with nothing left is forgotten, so the table stays small. */
static void drop_user_if_unused(struct chat_sessions *s, struct session_user *u)
{
	if (u->owned > 0)
		return;
	HASH_DEL(s->by_user, u);
	free(u);
}

static void remove_entry(struct chat_sessions *s, struct session_entry *e)
{
	struct session_user *u = e->owner;

	HASH_DEL(s->by_client_id, e);
	if (e->client) {
		s->connected--;
		u->connections--;
	} else {
		DL_DELETE(u->offline, e);
	}
	u->owned--;
	s->count--;
	free(e);
	drop_user_if_unused(s, u);
}

void chat_sessions_clear(struct chat_sessions *s)
{
	struct session_entry *e, *tmp;

	HASH_ITER(hh, s->by_client_id, e, tmp)
		remove_entry(s, e);
}

static struct session_entry *find(struct chat_sessions *s,
				  const char *client_id)
{
	struct session_entry *e = NULL;

	if (client_id)
		HASH_FIND_STR(s->by_client_id, client_id, e);
	return e;
}

bool chat_sessions_may_use(struct chat_sessions *s, const char *client_id,
			   const char *user)
{
	struct session_entry *e = find(s, client_id);

	return e == NULL || strcmp(e->owner->name, user) == 0;
}

bool chat_sessions_live(struct chat_sessions *s, const char *client_id)
{
	struct session_entry *e = find(s, client_id);

	return e && e->client;
}

size_t chat_sessions_connections_of(struct chat_sessions *s, const char *user)
{
	struct session_user *u = find_user(s, user);

	return u ? u->connections : 0;
}

static struct session_entry *create(struct chat_sessions *s,
				    const char *client_id, const char *user)
{
	struct session_user *u = get_user(s, user);
	size_t len = strlen(client_id);
	struct session_entry *e;

	if (u == NULL)
		return NULL;
	e = calloc(1, sizeof(*e) + len + 1);
	if (e == NULL) {
		drop_user_if_unused(s, u);
		return NULL;
	}
	memcpy(e->client_id, client_id, len + 1);
	e->owner = u;
	HASH_ADD_KEYPTR(hh, s->by_client_id, e->client_id, len, e);
	u->owned++;
	s->count++;
	DL_APPEND(u->offline, e); /* connected by the caller at once */
	return e;
}

/*
 * The offline id to release when a user owns too many: the one used for
 * the fewest connections, and among those the one offline the shortest.
 * Ids that tools make up for one connection (mosquitto_rr's random MQTT 5
 * ids) go before a device's own id, which could otherwise be released and
 * claimed by someone else while that device is away.
 */
static struct session_entry *release_candidate(struct session_user *u)
{
	struct session_entry *e, *pick = NULL;

	DL_FOREACH(u->offline, e)
	{
		if (pick == NULL || e->connects <= pick->connects)
			pick = e;
	}
	return pick;
}

/* Keeps a user's owned ids bounded. */
static void release_surplus(struct chat_sessions *s, struct session_user *u)
{
	while (u->owned > s->max_owned_ids && u->offline)
		remove_entry(s, release_candidate(u));
}

int chat_sessions_connected(struct chat_sessions *s, const char *client_id,
			    const char *user, const void *client,
			    long long device_id, bool durable)
{
	struct session_entry *e = find(s, client_id);
	struct session_user *u;

	if (e && strcmp(e->owner->name, user) != 0)
		return -1;
	if (e == NULL)
		e = create(s, client_id, user);
	if (e == NULL)
		return -1;
	u = e->owner;
	if (e->client == NULL) {
		DL_DELETE(u->offline, e);
		s->connected++;
		u->connections++;
	}
	e->client = client;
	e->device_id = device_id;
	e->durable = durable;
	e->subscriptions = 0;
	if (e->connects < USHRT_MAX)
		e->connects++;
	release_surplus(s, u);
	return 0;
}

bool chat_sessions_disconnected(struct chat_sessions *s,
				const char *client_id, const void *client)
{
	struct session_entry *e;
	struct session_user *u;

	if (client == NULL)
		return false;
	e = find(s, client_id);
	if (e == NULL || e->client != client)
		return false;
	if (!e->durable) {
		remove_entry(s, e);
		return true;
	}
	u = e->owner;
	e->client = NULL;
	e->requests = 0;
	s->connected--;
	u->connections--;
	DL_APPEND(u->offline, e);
	release_surplus(s, u);
	return true;
}

long long chat_sessions_device_of(struct chat_sessions *s,
				  const char *client_id)
{
	struct session_entry *e = find(s, client_id);

	return e && e->client ? e->device_id : 0;
}

const char *chat_sessions_owner(struct chat_sessions *s,
				const char *client_id)
{
	struct session_entry *e = find(s, client_id);

	return e ? e->owner->name : NULL;
}

void chat_sessions_each_of_device(struct chat_sessions *s,
				  long long device_id,
				  void (*fn)(const char *client_id,
					     const char *user, void *arg),
				  void *arg)
{
	struct session_entry *e, *tmp;

	/* Revocations are rare; a scan of the sessions is fine. */
	HASH_ITER(hh, s->by_client_id, e, tmp)
	{
		if (e->client && e->device_id == device_id)
			fn(e->client_id, e->owner->name, arg);
	}
}

int chat_sessions_requests_of(struct chat_sessions *s, const char *client_id)
{
	struct session_entry *e = find(s, client_id);

	return e ? e->requests : 0;
}

bool chat_sessions_subscribe(struct chat_sessions *s, const char *client_id,
			     unsigned max)
{
	struct session_entry *e = find(s, client_id);

	if (e == NULL || e->subscriptions >= max)
		return false;
	e->subscriptions++;
	return true;
}

void chat_sessions_request_started(struct chat_sessions *s,
				   const char *client_id, long long now_ms)
{
	struct session_entry *e = find(s, client_id);

	if (e && e->requests < USHRT_MAX) {
		e->requests++;
		e->requests_active_s = (unsigned)(now_ms / 1000);
	}
}

void chat_sessions_request_answered(struct chat_sessions *s,
				    const char *client_id, long long now_ms)
{
	struct session_entry *e = find(s, client_id);

	if (e && e->requests > 0) {
		e->requests--;
		e->requests_active_s = (unsigned)(now_ms / 1000);
	}
}

void chat_sessions_expire_requests(struct chat_sessions *s, long long now_ms,
				   long long timeout_ms)
{
	unsigned now_s = (unsigned)(now_ms / 1000);
	struct session_entry *e, *tmp;

	HASH_ITER(hh, s->by_client_id, e, tmp)
	{
		if (e->requests > 0 &&
		    (long long)(now_s - e->requests_active_s) * 1000 >
			    timeout_ms)
			e->requests = 0;
	}
}

void chat_sessions_forget_requests(struct chat_sessions *s)
{
	struct session_entry *e, *tmp;

	HASH_ITER(hh, s->by_client_id, e, tmp)
		e->requests = 0;
}
