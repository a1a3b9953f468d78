/*
 * The plugin's read-only view of the SQLite store: device tokens at connect,
 * membership on send and fan-out.
 *
 * Reads run on the broker's only thread, so every query is a prepared,
 * indexed lookup. The connection is read-only: the plugin never writes.
 * The file may not exist yet when the broker starts (the bridge or the CLI
 * creates it), so opening is retried, at most once a second.
 */
#ifndef CHAT_STORE_H
#define CHAT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chat_store;

enum chat_store_result {
	CHAT_STORE_OK = 0,
	CHAT_STORE_NOT_FOUND = 1,
	CHAT_STORE_ERROR = -1, /* unavailable or failed; logged */
};

enum chat_account_kind {
	CHAT_ACCOUNT_USER,
	CHAT_ACCOUNT_SERVICE,
};

typedef void (*chat_store_log_fn)(const char *message);

struct chat_store *chat_store_new(const char *path, chat_store_log_fn log);
void chat_store_free(struct chat_store *store);

/* OK when `token` is an active device token of account `user` of `kind`;
 * *device_id then names the device. */
enum chat_store_result chat_store_check_token(struct chat_store *store,
					      const char *user,
					      enum chat_account_kind kind,
					      const char *token, size_t len,
					      long long *device_id);

/* How far the revocations have been read: ordered by time, then device. */
struct chat_revocation_mark {
	long long revoked_at;
	long long device_id;
};

/* Calls fn (unless NULL) for every device revoked after *mark, in order,
 * and moves *mark past the last one. */
enum chat_store_result chat_store_each_revocation(
	struct chat_store *store, struct chat_revocation_mark *mark,
	void (*fn)(long long device_id, void *arg), void *arg);

struct chat_store_convo {
	bool channel;
	bool broadcast;
};

/* Kind and delivery mode of convo; NOT_FOUND when it does not exist. */
enum chat_store_result chat_store_convo_info(struct chat_store *store,
					     const char *convo,
					     struct chat_store_convo *out);

struct chat_store_member {
	const char *user;
	long long joined_seq;
	long long left_seq; /* when `left` */
	bool left;
};

/* Calls fn for every member of convo, present and past. */
enum chat_store_result chat_store_each_member(
	struct chat_store *store, const char *convo,
	void (*fn)(const struct chat_store_member *member, void *arg),
	void *arg);

/* Whether user hides its presence; an unknown user counts as hidden. */
enum chat_store_result chat_store_hides_presence(struct chat_store *store,
						 const char *user,
						 bool *hidden);

/* CHAT_STORE_OK when the user exists, CHAT_STORE_NOT_FOUND when not. */
enum chat_store_result chat_store_user_exists(struct chat_store *store,
					      const char *user);

/* Whether a and b are both current members of some conversation. */
enum chat_store_result chat_store_share_conversation(struct chat_store *store,
						     const char *a,
						     const char *b,
						     bool *shared);

/* Calls fn for every user the store records as shown online. */
enum chat_store_result chat_store_each_online_user(
	struct chat_store *store, void (*fn)(const char *user, void *arg),
	void *arg);

/*
 * Calls fn for up to limit users the store records as offline with a last
 * seen time, in id order after the id `after` ("" to start); the last id
 * seen goes to last. Returns how many, or -1 on a read error.
 */
int chat_store_each_offline_user(struct chat_store *store, const char *after,
				 int limit,
				 void (*fn)(const char *user,
					    long long last_seen, void *arg),
				 void *arg, char *last, size_t last_size);

/* The largest message id stored, 0 when none. */
enum chat_store_result chat_store_max_message_id(struct chat_store *store,
						 uint64_t *id);

#endif
