/*
 * Presence changes waiting to be written to users.online and
 * users.last_seen: per user, what the plugin reported last. Like the
 * announcement watermarks they ride on the next transaction the bridge
 * makes (a batch's, or one of their own), so they cost no commit of
 * their own while messages flow, and count as written only once that
 * transaction commits.
 */
#ifndef BRIDGE_PRESENCE_UPDATES_H
#define BRIDGE_PRESENCE_UPDATES_H

#include "ids.h"

#include <stdbool.h>
#include <uthash.h>

struct bridge_presence_update {
	char user[CHAT_ID_MAX + 1];
	bool online;
	long long last_seen;   /* when it went offline; -1: leave as stored */
	unsigned long noted;   /* bumped by every report */
	unsigned long writing; /* what the open transaction wrote, or 0 */
	UT_hash_handle hh;
};

struct bridge_presence_updates {
	struct bridge_presence_update *by_user;
	unsigned long reports;
};

void bridge_presence_updates_init(struct bridge_presence_updates *u);
void bridge_presence_updates_free(struct bridge_presence_updates *u);

/* Notes that user went online, or offline at last_seen (ignored when
 * online). Returns 0, or -1 when out of memory. */
int bridge_presence_updates_note(struct bridge_presence_updates *u,
                                 const char *user, bool online,
                                 long long last_seen);

bool bridge_presence_updates_pending(const struct bridge_presence_updates *u);

/* Receives one user's presence to write; last_seen is -1 when the stored
 * one stays. Returns 0 or an error code. */
typedef int (*bridge_presence_write_fn)(void *ctx, const char *user,
                                        bool online, long long last_seen);

/* Hands every change not yet stored to write. Returns 0 or write's first
 * error. */
int bridge_presence_updates_write(struct bridge_presence_updates *u,
                                  bridge_presence_write_fn write, void *ctx);

/* The transaction committed: what it wrote is forgotten, unless a newer
 * report came since. */
void bridge_presence_updates_commit(struct bridge_presence_updates *u);

/* The transaction rolled back: everything is to be written again. */
void bridge_presence_updates_discard(struct bridge_presence_updates *u);

#endif
