/*
 * What a user's account requests read and write: presence as others may
 * see it, the presence setting, and the user's devices.
 *
 * Functions return SQLITE_OK or an SQLite error code.
 */
#ifndef BRIDGE_STORE_ACCOUNT_H
#define BRIDGE_STORE_ACCOUNT_H

#include "store.h"

#include <stdbool.h>

struct bridge_presence_row {
	bool found; /* the subject exists and the viewer may see it */
	bool online;
	long long last_seen; /* -1: never seen going offline */
};

/*
 * The presence of subject as viewer may see it: its own always; another
 * chat user's only when both are current members of a conversation and
 * neither hides its presence. found is false otherwise.
 */
int bridge_store_visible_presence(struct bridge_store *s, const char *viewer,
                                  const char *subject,
                                  struct bridge_presence_row *out);

/* Whether user hides its presence; false for an unknown user. */
int bridge_store_hides_presence(struct bridge_store *s, const char *user,
                                bool *hidden);

int bridge_store_set_hide_presence(struct bridge_store *s, const char *user,
                                   bool hide);

/* One of a user's devices; label is borrowed for the call, NULL when it
 * has none; revoked_at is 0 while it is not revoked. */
struct bridge_device_row {
	long long id;
	const char *label;
	long long created_at;
	long long revoked_at;
};

typedef bool (*bridge_device_fn)(void *ctx, const struct bridge_device_row *d);

/* The devices of user, by id. Returning false from fn stops early. */
int bridge_store_devices_of(struct bridge_store *s, const char *user,
                            bridge_device_fn fn, void *ctx);

/* The device with this id if it is user's: *found, and its revocation
 * time (0 while not revoked). */
int bridge_store_own_device(struct bridge_store *s, const char *user,
                            long long device, bool *found,
                            long long *revoked_at);

/* Revokes user's device at now_ms, unless it is revoked already. */
int bridge_store_revoke_device(struct bridge_store *s, const char *user,
                               long long device, long long now_ms);

#endif
