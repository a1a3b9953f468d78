/*
 * The client's local state, one SQLite file per device: its keys and
 * credentials, the identity keys it trusts, per conversation the
 * contiguous cursor and the messages received (keyed by convo and seq, so
 * a message is stored once however often it arrives), the outbox of
 * messages not yet ticked, and uploads in progress.
 *
 * The file holds the device's secret keys and decrypted messages: it is
 * created with mode 0600 (SQLite gives its -wal and -shm files the same
 * mode). Every change is one transaction, so a client killed at any moment
 * finds the state as it was before or after the change, never between.
 */
#ifndef CHAT_CLIENT_STATE_H
#define CHAT_CLIENT_STATE_H

#include "crypto.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#define CLIENT_TOKEN_MAX     255
#define CLIENT_HOST_MAX      255
#define CLIENT_CLIENT_ID_MAX 100
#define CLIENT_KIND_MAX      15

struct client_state {
	sqlite3 *db;
};

struct client_account {
	char user[CHAT_ID_MAX + 1];
	char token[CLIENT_TOKEN_MAX + 1];
	char host[CLIENT_HOST_MAX + 1];
	int port;
	char client_id[CLIENT_CLIENT_ID_MAX + 1]; /* stable per device */
	char device[E2E_DEVICE_ID_MAX + 1];       /* "" until whoami */
	struct e2e_identity identity;
	struct e2e_device_keys device_keys;
	long long bundle_created;
	bool identity_created; /* this device made the identity key */
	bool published;        /* bundle, device list and prekeys sent */
};

/* Kinds of stored messages. */
#define CLIENT_KIND_TEXT       "text"
#define CLIENT_KIND_FILE       "file"
#define CLIENT_KIND_SYSTEM     "system"
#define CLIENT_KIND_CONTROL    "control"
#define CLIENT_KIND_UNREADABLE "unreadable"

/* A message as stored; strings may be NULL where noted. */
struct client_message {
	const char *convo;
	long long seq;
	const char *id;
	const char *sender;
	long long ts;
	const char *cmid;
	const char *sender_device; /* NULL for system messages */
	const char *kind;          /* CLIENT_KIND_* */
	const char *content; /* plaintext JSON, or a system message's event */
	const char *system_type; /* NULL unless kind is system */
	const char *error;       /* why it is unreadable, else NULL */
	bool shown;
};

struct client_outbox_entry {
	const char *convo;
	const char *cmid;
	const char *plaintext;
	const char *attachments; /* JSON array text or NULL */
	long long created;
	long long sent_at; /* 0: never published */
	int attempts;
};

struct client_upload {
	long long id;
	const char *convo;
	const char *cmid;
	const char *path;
	const char *name;
	const char *type;
	const char *cipher_path;
	const unsigned char *file_key; /* E2E_FILE_KEY_BYTES */
	const unsigned char *hash;     /* E2E_FILE_HASH_BYTES */
	long long plain_size;
	long long cipher_size;
	const char *upload; /* the server's upload id, or NULL */
};

/* Row callbacks see strings that live until they return. */
typedef int (*client_message_fn)(void *ctx, const struct client_message *m);
typedef int (*client_outbox_fn)(void *ctx, const struct client_outbox_entry *e);
typedef int (*client_upload_fn)(void *ctx, const struct client_upload *u);

/*
 * Opens the state file. With create, the file must not exist yet and is
 * made with mode 0600; without, it must exist. Returns 0 or -1 with a
 * message in err.
 */
int client_state_open(const char *path, bool create, struct client_state *s,
                      char *err, size_t errlen);
void client_state_close(struct client_state *s);

/* The last SQLite error, for messages. */
const char *client_state_error(const struct client_state *s);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Return 0 or -1. */
int client_state_begin(struct client_state *s);
int client_state_commit(struct client_state *s);
void client_state_rollback(struct client_state *s);

/* ---- account and keys ---- */

int client_state_save_account(struct client_state *s,
                              const struct client_account *a);
/* Returns 0, 1 when there is no account yet, or -1. */
int client_state_load_account(struct client_state *s, struct client_account *a);
int client_state_set_device(struct client_state *s, const char *device);
int client_state_set_published(struct client_state *s, bool published);

/* Stores a new one-time prekey; *id receives its id. */
int client_state_add_prekey(struct client_state *s,
                            const struct e2e_device_keys *k, long long *id);

/* ---- identity keys of others (trust on first use) ---- */

/* Returns 0 with *found, or -1. */
int client_state_identity(struct client_state *s, const char *user,
                          unsigned char key[E2E_IDENTITY_PUBLIC_BYTES],
                          bool *found);
/* Trusts key for user from now on (first use, or `chat trust`). */
int client_state_pin_identity(struct client_state *s, const char *user,
                              const unsigned char key[]);

/* ---- conversations ---- */

/* The contiguous cursor; 0 for a conversation never seen. */
int client_state_contiguous(struct client_state *s, const char *convo,
                            long long *contiguous);

/* Raises the cursor to at least `through` (never lowers it), then over
 * every stored message right after it. *contiguous receives the result. */
int client_state_advance(struct client_state *s, const char *convo,
                         long long through, long long *contiguous);

/* Receipt positions already sent for the conversation. */
int client_state_receipts(struct client_state *s, const char *convo,
                          long long *delivered, long long *read);
int client_state_set_receipts(struct client_state *s, const char *convo,
                              long long delivered, long long read);

/* Conversations whose contiguous cursor is above the delivered receipt
 * sent (or the read one when `read`): calls fn(ctx, convo, contiguous). */
int client_state_receipts_due(struct client_state *s, bool read,
                              int (*fn)(void *ctx, const char *convo,
                                        long long contiguous),
                              void *ctx);

/* ---- messages ---- */

/* Stores m unless (convo, seq) is held already; *inserted tells which. */
int client_state_store_message(struct client_state *s,
                               const struct client_message *m, bool *inserted);

int client_state_has_message(struct client_state *s, const char *convo,
                             long long seq, bool *found);

/* Calls fn for the message; returns 1 when there is none. */
int client_state_message(struct client_state *s, const char *convo,
                         long long seq, client_message_fn fn, void *ctx);

/*
 * Calls fn, in seq order per conversation, for every message not yet
 * shown whose seq is within the contiguous cursor (convo NULL: all
 * conversations), and marks each shown after fn returned 0. A non-zero
 * return from fn stops, leaving that message unshown.
 */
int client_state_show_pending(struct client_state *s, const char *convo,
                              client_message_fn fn, void *ctx);

/* ---- outbox ---- */

int client_state_outbox_add(struct client_state *s,
                            const struct client_outbox_entry *e);
/* *removed tells whether (convo, cmid) was in the outbox. */
int client_state_outbox_remove(struct client_state *s, const char *convo,
                               const char *cmid, bool *removed);
/* Returns 1 when (convo, cmid) is not in the outbox. */
int client_state_outbox_get(struct client_state *s, const char *convo,
                            const char *cmid, client_outbox_fn fn, void *ctx);
/* Entries in the order they were added. */
int client_state_outbox_each(struct client_state *s, client_outbox_fn fn,
                             void *ctx);
int client_state_outbox_sent(struct client_state *s, const char *convo,
                             const char *cmid, long long now_ms);
int client_state_outbox_count(struct client_state *s, long long *count);

/* ---- uploads in progress ---- */

int client_state_upload_add(struct client_state *s,
                            const struct client_upload *u, long long *id);
int client_state_upload_set_id(struct client_state *s, long long id,
                               const char *upload);
int client_state_upload_remove(struct client_state *s, long long id);
int client_state_upload_each(struct client_state *s, client_upload_fn fn,
                             void *ctx);

/* ---- resend requests answered ---- */

/* Counts one more answer to a resend request for (convo, seq); *answers
 * receives the count including this one. */
int client_state_count_resend(struct client_state *s, const char *convo,
                              long long seq, int *answers);

#endif
