#include "presence.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

/* One per user online (or about to go offline): kept small, there is one
 * for every connected user. */
struct presence_user {
	UT_hash_handle hh;
	struct presence_user *prev, *next; /* on the dirty list */
	long long alone_since_ms; /* when the last connection went */
	long long changed_ms;	  /* last shown change */
	bool on_dirty_list;
	bool shown_online;
	bool away;	 /* chosen status */
	bool shown_away; /* status last shown */
	bool restate;	 /* the broker's retained copy may be stale */
	char user[];
};

void chat_presence_init(struct chat_presence *p, long long grace_ms,
			long long min_interval_ms)
{
	memset(p, 0, sizeof(*p));
	p->grace_ms = grace_ms;
	p->min_interval_ms = min_interval_ms;
}

static void forget(struct chat_presence *p, struct presence_user *u)
{
	if (u->on_dirty_list)
		DL_DELETE(p->dirty, u);
	HASH_DEL(p->by_user, u);
	free(u);
}

void chat_presence_clear(struct chat_presence *p)
{
	struct presence_user *u, *tmp;

	HASH_ITER(hh, p->by_user, u, tmp)
		forget(p, u);
}

static struct presence_user *get(struct chat_presence *p, const char *user)
{
	struct presence_user *u = NULL;

	size_t len = strlen(user);

	HASH_FIND_STR(p->by_user, user, u);
	if (u)
		return u;
	u = calloc(1, sizeof(*u) + len + 1);
	if (u == NULL)
		return NULL;
	memcpy(u->user, user, len + 1);
	HASH_ADD_KEYPTR(hh, p->by_user, u->user, len, u);
	return u;
}

static void mark_dirty(struct chat_presence *p, struct presence_user *u)
{
	if (u->on_dirty_list)
		return;
	DL_APPEND(p->dirty, u);
	u->on_dirty_list = true;
}

void chat_presence_touch(struct chat_presence *p, const char *user,
			 long long now_ms)
{
	struct presence_user *u = get(p, user);

	if (u == NULL)
		return;
	/* Evaluation tells whether the user is alone; remember when it may
	 * have become so, for last seen and the grace period. */
	u->alone_since_ms = now_ms;
	mark_dirty(p, u);
}

void chat_presence_set_status(struct chat_presence *p, const char *user,
			      const char *status, long long now_ms)
{
	struct presence_user *u = get(p, user);

	(void)now_ms;
	if (u == NULL)
		return;
	u->away = strcmp(status, "away") == 0;
	mark_dirty(p, u);
}

void chat_presence_assume_online(struct chat_presence *p, const char *user,
				 long long now_ms)
{
	struct presence_user *u = get(p, user);

	if (u == NULL)
		return;
	u->shown_online = true;
	u->shown_away = u->away;
	u->restate = true;
	/* The grace period runs from now: clients reconnecting after a
	 * restart get the time to do so. */
	u->alone_since_ms = now_ms;
	u->changed_ms = now_ms - p->min_interval_ms;
	mark_dirty(p, u);
}

void chat_presence_restate_offline(struct chat_presence *p, const char *user,
				   long long last_seen)
{
	struct presence_user *u = NULL;

	/* Already known: connected since start-up, evaluated as usual. */
	HASH_FIND_STR(p->by_user, user, u);
	if (u)
		return;
	u = get(p, user);
	if (u == NULL)
		return;
	u->restate = true;
	u->alone_since_ms = last_seen;
	mark_dirty(p, u);
}

/* Publishes again what is shown, without it counting as a change. */
static void restate(struct presence_user *u,
		    void (*emit)(const struct chat_presence_change *c,
				 void *arg),
		    void *arg)
{
	struct chat_presence_change change = {
		.user = u->user,
		.online = u->shown_online,
		.status = u->away ? "away" : "available",
		.last_seen = u->alone_since_ms,
		.restated = true,
	};

	u->restate = false;
	u->shown_away = u->away;
	emit(&change, arg);
}

/* One user's step; true when it needs another look later. */
static bool evaluate_user(struct chat_presence *p, struct presence_user *u,
			  long long now_ms, size_t connections,
			  void (*emit)(const struct chat_presence_change *c,
				       void *arg),
			  void *arg)
{
	struct chat_presence_change change = {.user = u->user};
	bool want_online = connections > 0;

	if (u->restate && want_online == u->shown_online) {
		restate(u, emit, arg);
		return false;
	}
	if (want_online == u->shown_online &&
	    (!want_online || u->away == u->shown_away))
		return false;
	if (!want_online && now_ms - u->alone_since_ms < p->grace_ms)
		return true;
	if (now_ms - u->changed_ms < p->min_interval_ms)
		return true;
	change.online = want_online;
	change.status = u->away ? "away" : "available";
	change.last_seen = u->alone_since_ms;
	emit(&change, arg);
	u->restate = false;
	u->shown_online = want_online;
	u->shown_away = u->away;
	u->changed_ms = now_ms;
	return false;
}

void chat_presence_evaluate(struct chat_presence *p, long long now_ms,
			    size_t (*connections)(const char *user, void *arg),
			    void (*emit)(const struct chat_presence_change *c,
					 void *arg),
			    void *arg)
{
	struct presence_user *u, *tmp;

	DL_FOREACH_SAFE(p->dirty, u, tmp)
	{
		size_t n = connections(u->user, arg);

		if (evaluate_user(p, u, now_ms, n, emit, arg))
			continue;
		DL_DELETE(p->dirty, u);
		u->on_dirty_list = false;
		/* Offline and settled: nothing worth remembering. */
		if (!u->shown_online && n == 0)
			forget(p, u);
	}
}

bool chat_presence_shown_online(struct chat_presence *p, const char *user)
{
	struct presence_user *u = NULL;

	HASH_FIND_STR(p->by_user, user, u);
	return u && u->shown_online;
}
