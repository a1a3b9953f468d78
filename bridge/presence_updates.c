#include "presence_updates.h"

#include <stdlib.h>
#include <string.h>

void bridge_presence_updates_init(struct bridge_presence_updates *u)
{
	memset(u, 0, sizeof(*u));
}

void bridge_presence_updates_free(struct bridge_presence_updates *u)
{
	struct bridge_presence_update *p, *next;

	HASH_ITER(hh, u->by_user, p, next)
	{
		HASH_DEL(u->by_user, p);
		free(p);
	}
	bridge_presence_updates_init(u);
}

int bridge_presence_updates_note(struct bridge_presence_updates *u,
                                 const char *user, bool online,
                                 long long last_seen)
{
	struct bridge_presence_update *p = NULL;

	HASH_FIND_STR(u->by_user, user, p);
	if (p == NULL) {
		if (strlen(user) >= sizeof(p->user))
			return -1;
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return -1;
		strcpy(p->user, user);
		p->last_seen = -1;
		HASH_ADD_STR(u->by_user, user, p);
	}
	p->online = online;
	/* Online keeps the last seen of an offline spell reported before. */
	if (!online)
		p->last_seen = last_seen;
	p->noted = ++u->reports;
	return 0;
}

bool bridge_presence_updates_pending(const struct bridge_presence_updates *u)
{
	return u->by_user != NULL;
}

int bridge_presence_updates_write(struct bridge_presence_updates *u,
                                  bridge_presence_write_fn write, void *ctx)
{
	struct bridge_presence_update *p;

	for (p = u->by_user; p != NULL; p = p->hh.next) {
		int rc = write(ctx, p->user, p->online, p->last_seen);

		if (rc != 0)
			return rc;
		p->writing = p->noted;
	}
	return 0;
}

void bridge_presence_updates_commit(struct bridge_presence_updates *u)
{
	struct bridge_presence_update *p, *next;

	HASH_ITER(hh, u->by_user, p, next)
	{
		if (p->writing != 0 && p->writing == p->noted) {
			HASH_DEL(u->by_user, p);
			free(p);
			continue;
		}
		p->writing = 0;
	}
}

void bridge_presence_updates_discard(struct bridge_presence_updates *u)
{
	struct bridge_presence_update *p;

	for (p = u->by_user; p != NULL; p = p->hh.next)
		p->writing = 0;
}
