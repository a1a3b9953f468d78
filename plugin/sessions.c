#include "sessions.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct session_entry {
	UT_hash_handle hh;
	char *client_id;
	char *user;
	const void *client; /* NULL while disconnected */
	long long device_id;
	bool durable;
};

void chat_sessions_init(struct chat_sessions *s)
{
	memset(s, 0, sizeof(*s));
}

static void remove_entry(struct chat_sessions *s, struct session_entry *e)
{
	HASH_DEL(s->by_client_id, e);
	if (e->client)
		s->connected--;
	s->count--;
	free(e->client_id);
	free(e->user);
	free(e);
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

	HASH_FIND_STR(s->by_client_id, client_id, e);
	return e;
}

bool chat_sessions_may_use(struct chat_sessions *s, const char *client_id,
			   const char *user)
{
	struct session_entry *e = find(s, client_id);

	return e == NULL || strcmp(e->user, user) == 0;
}

static struct session_entry *create(struct chat_sessions *s,
				    const char *client_id, const char *user)
{
	struct session_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->client_id = strdup(client_id);
	e->user = strdup(user);
	if (e->client_id == NULL || e->user == NULL) {
		free(e->client_id);
		free(e->user);
		free(e);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, s->by_client_id, e->client_id,
			strlen(e->client_id), e);
	s->count++;
	return e;
}

int chat_sessions_connected(struct chat_sessions *s, const char *client_id,
			    const char *user, const void *client,
			    long long device_id, bool durable)
{
	struct session_entry *e = find(s, client_id);

	if (e && strcmp(e->user, user) != 0)
		return -1; /* callers check chat_sessions_may_use first */
	if (e == NULL)
		e = create(s, client_id, user);
	if (e == NULL)
		return -1;
	if (e->client == NULL)
		s->connected++;
	e->client = client;
	e->device_id = device_id;
	e->durable = durable;
	return 0;
}

void chat_sessions_each_of_device(struct chat_sessions *s,
				  long long device_id,
				  void (*fn)(const char *client_id,
					     const char *user, void *arg),
				  void *arg)
{
	struct session_entry *e, *tmp;

	/* Revocations are rare; a scan of the live sessions is fine. */
	HASH_ITER(hh, s->by_client_id, e, tmp)
	{
		if (e->client && e->device_id == device_id)
			fn(e->client_id, e->user, arg);
	}
}

bool chat_sessions_disconnected(struct chat_sessions *s,
				const char *client_id, const void *client)
{
	struct session_entry *e;

	if (client_id == NULL || client == NULL)
		return false;
	e = find(s, client_id);
	if (e == NULL || e->client != client)
		return false;
	if (!e->durable) {
		remove_entry(s, e);
		return true;
	}
	e->client = NULL;
	s->connected--;
	return true;
}

const char *chat_sessions_owner(struct chat_sessions *s,
				const char *client_id)
{
	struct session_entry *e = find(s, client_id);

	return e ? e->user : NULL;
}
