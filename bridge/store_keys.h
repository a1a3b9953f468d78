/*
 * The key directory (docs/E2E.md): each user's identity key and signed
 * device list, the devices' bundles, and their one-time prekeys. Changes
 * are made inside the caller's transaction.
 *
 * Functions return SQLITE_OK or an SQLite error code.
 */
#ifndef BRIDGE_STORE_KEYS_H
#define BRIDGE_STORE_KEYS_H

#include "store.h"

#include <stdbool.h>

/* Base64 of an Ed25519 key or signature, with room to spare. */
#define BRIDGE_KEY_TEXT_MAX 128

struct bridge_identity {
	bool found;
	char identity[BRIDGE_KEY_TEXT_MAX + 1]; /* base64 */
	long long list_version;                 /* 0: no device list */
	long long updated_at;
};

int bridge_store_identity(struct bridge_store *s, const char *user,
                          struct bridge_identity *out);

/* Makes identity the user's identity key. A new key drops the device
 * list, whose version starts again from 0. */
int bridge_store_set_identity(struct bridge_store *s, const char *user,
                              const char *identity, long long now_ms);

/* Drops every bundle of user. */
int bridge_store_drop_bundles(struct bridge_store *s, const char *user);

/* The bundle of one of user's devices, replacing the one it had. */
struct bridge_bundle_row {
	long long device;
	const char *key; /* base64, as signed */
	long long created;
	const char *signature; /* base64 */
};

int bridge_store_put_bundle(struct bridge_store *s, const char *user,
                            const struct bridge_bundle_row *b);

/* Stores a device list (JSON text as the bridge writes it out) and its
 * version. */
int bridge_store_set_device_list(struct bridge_store *s, const char *user,
                                 const char *list, long long version,
                                 long long now_ms);

/* What get_keys tells about one user; strings borrowed for the call,
 * device_list NULL when none was published. */
struct bridge_keys_row {
	const char *identity;
	const char *device_list;
};

typedef void (*bridge_keys_fn)(void *ctx, const struct bridge_keys_row *k);
typedef bool (*bridge_bundle_fn)(void *ctx, const struct bridge_bundle_row *b);

/* Calls fn once when user has an identity key; *found tells. */
int bridge_store_keys_of(struct bridge_store *s, const char *user,
                         bridge_keys_fn fn, void *ctx, bool *found);

/* The bundles of user's devices that are not revoked, by device id. */
int bridge_store_bundles_of(struct bridge_store *s, const char *user,
                            bridge_bundle_fn fn, void *ctx);

/* A prekey's id as its device named it: a number or a string. */
struct bridge_prekey_id {
	bool numeric;
	long long number;
	const char *text;
};

int bridge_store_count_prekeys(struct bridge_store *s, long long device,
                               long long *count);

/* Stores a prekey of device, replacing the key of one with the same id;
 * *added tells whether the id is new. */
int bridge_store_put_prekey(struct bridge_store *s, long long device,
                            const struct bridge_prekey_id *id, const char *key,
                            bool *added);

/* Receives a claimed prekey; id.text and key are borrowed for the call. */
typedef void (*bridge_prekey_fn)(void *ctx, const struct bridge_prekey_id *id,
                                 const char *key);

/* How many prekeys of device claimer took after since (ms). */
int bridge_store_recent_claims(struct bridge_store *s, const char *claimer,
                               long long device, long long since,
                               long long *count);

/* Inside a transaction: records that claimer took one of device's prekeys
 * at now, and forgets claims made before forget_before. */
int bridge_store_note_claim(struct bridge_store *s, const char *claimer,
                            long long device, long long now,
                            long long forget_before);

/*
 * Inside a transaction: hands one prekey of user's device (not revoked)
 * to fn and deletes it, so that nobody else gets it. *found is false when
 * the device has none left.
 */
int bridge_store_take_prekey(struct bridge_store *s, const char *user,
                             long long device, bridge_prekey_fn fn, void *ctx,
                             bool *found);

#endif
