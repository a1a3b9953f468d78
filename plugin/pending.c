#include "pending.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct pending_entry {
	UT_hash_handle hh;
	struct pending_entry *prev, *next; /* insertion order */
	long long since_ms;
	size_t key_len;
	char key[]; /* convo \x1f sender \x1f cmid */
};

/* Ids never contain 0x1f, so the joined key is unambiguous. Built with
 * plain copies: twice per message on the broker's thread. */
static size_t make_key(char *out, size_t outlen, const char *convo,
		       const char *sender, const char *cmid)
{
	const char *parts[3] = {convo, sender, cmid};
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		size_t n = strlen(parts[i]);

		if (len + n + 2 > outlen)
			return 0;
		memcpy(out + len, parts[i], n);
		len += n;
		out[len++] = i < 2 ? '\x1f' : '\0';
	}
	return len - 1;
}

void chat_pending_init(struct chat_pending *p)
{
	memset(p, 0, sizeof(*p));
}

static void unlink_entry(struct chat_pending *p, struct pending_entry *e)
{
	HASH_DEL(p->table, e);
	if (e->prev)
		e->prev->next = e->next;
	else
		p->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		p->newest = e->prev;
	p->count--;
	free(e);
}

void chat_pending_clear(struct chat_pending *p)
{
	while (p->oldest)
		unlink_entry(p, p->oldest);
}

static struct pending_entry *find(struct chat_pending *p, const char *convo,
				  const char *sender, const char *cmid)
{
	char key[256];
	size_t len = make_key(key, sizeof(key), convo, sender, cmid);
	struct pending_entry *e = NULL;

	if (len)
		HASH_FIND(hh, p->table, key, len, e);
	return e;
}

bool chat_pending_contains(struct chat_pending *p, const char *convo,
			   const char *sender, const char *cmid,
			   long long now_ms, long long window_ms)
{
	struct pending_entry *e = find(p, convo, sender, cmid);

	return e && e->since_ms >= now_ms - window_ms;
}

static void append(struct chat_pending *p, struct pending_entry *e)
{
	e->prev = p->newest;
	e->next = NULL;
	if (p->newest)
		p->newest->next = e;
	else
		p->oldest = e;
	p->newest = e;
}

int chat_pending_add(struct chat_pending *p, const char *convo,
		     const char *sender, const char *cmid, long long now_ms)
{
	char key[256];
	size_t len = make_key(key, sizeof(key), convo, sender, cmid);
	struct pending_entry *e;

	if (len == 0)
		return -1;
	e = find(p, convo, sender, cmid);
	if (e)
		unlink_entry(p, e); /* re-added below as the newest */
	e = malloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return -1;
	memcpy(e->key, key, len + 1);
	e->key_len = len;
	e->since_ms = now_ms;
	HASH_ADD_KEYPTR(hh, p->table, e->key, len, e);
	append(p, e);
	p->count++;
	return 0;
}

void chat_pending_remove(struct chat_pending *p, const char *convo,
			 const char *sender, const char *cmid)
{
	struct pending_entry *e = find(p, convo, sender, cmid);

	if (e)
		unlink_entry(p, e);
}

void chat_pending_expire(struct chat_pending *p, long long now_ms,
			 long long window_ms)
{
	while (p->oldest && p->oldest->since_ms < now_ms - window_ms)
		unlink_entry(p, p->oldest);
}
