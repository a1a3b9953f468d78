/*
 * Presence: whether a user is online, derived from its live connections,
 * published as one retained message per user by the plugin only.
 *
 * Connection counts change at authentication and disconnect; the shown
 * state is decided at the broker's TICK, so a connection that fails right
 * after authenticating is never shown. A user goes offline only after all
 * its connections have been gone for the grace period (no flap on a quick
 * reconnect), and its shown state changes at most once per min_interval:
 * a reconnect storm produces at most one change per user.
 */
#ifndef CHAT_PRESENCE_H
#define CHAT_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>

#define CHAT_STATUS_MAX 16

struct presence_user;

struct chat_presence {
	struct presence_user *by_user; /* uthash head */
	struct presence_user *dirty;   /* to look at at the next TICK */
	long long grace_ms;
	long long min_interval_ms;
};

/* What to publish for a user. */
struct chat_presence_change {
	const char *user;
	bool online;
	const char *status;  /* when online: "available" or "away" */
	long long last_seen; /* when offline */
	bool restated;	     /* unchanged, published again after start-up */
};

void chat_presence_init(struct chat_presence *p, long long grace_ms,
			long long min_interval_ms);
void chat_presence_clear(struct chat_presence *p);

/* The user's connection count may have changed at now_ms. */
void chat_presence_touch(struct chat_presence *p, const char *user,
			 long long now_ms);

/* The user chose a status ("available" or "away"); shown while online. */
void chat_presence_set_status(struct chat_presence *p, const char *user,
			      const char *status, long long now_ms);

/* At start-up: the store says the user was shown online before a restart;
 * unless it connects again within the grace period, it is shown offline,
 * last seen at start-up; if it does, its "online" is published again. */
void chat_presence_assume_online(struct chat_presence *p, const char *user,
				 long long now_ms);

/* At start-up: the store says the user was offline, last seen then. Its
 * presence is published again (the broker's retained copy may be missing
 * or come from an older snapshot), unless it connected meanwhile. */
void chat_presence_restate_offline(struct chat_presence *p, const char *user,
				   long long last_seen);

/*
 * Decides what changes at now_ms. connections(user) gives the live
 * connection count; emit is called for every change to publish.
 */
void chat_presence_evaluate(struct chat_presence *p, long long now_ms,
			    size_t (*connections)(const char *user, void *arg),
			    void (*emit)(const struct chat_presence_change *c,
					 void *arg),
			    void *arg);

/* Shown online now? (for tests and the stats line) */
bool chat_presence_shown_online(struct chat_presence *p, const char *user);

#endif
