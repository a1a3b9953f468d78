/*
 * What the parts of libchatclient share and callers of chat.h never see:
 * the client structure and the functions one part offers another.
 *
 *   client.c   opening, connecting, the poll loop
 *   account.c  init, identity export, safety numbers and trust
 *   keys.c     the key directory: own keys out, others' keys in, checked
 *   outbox.c   encrypting for a conversation, sending, ticks, resending
 *   receive.c  one incoming message: decrypt, store, answer resends
 *   sync.c     catching up, gaps, showing messages, receipts
 *   media.c    file upload and download
 */
#ifndef CHAT_CLIENT_INTERNAL_H
#define CHAT_CLIENT_INTERNAL_H

#include "chat.h"
#include "crypto.h"
#include "session.h"
#include "state.h"

#include <cjson/cJSON.h>
#include <limits.h>

/* How long one request may take, retries included. */
#define CLIENT_REQUEST_TIMEOUT_MS 30000
/* A message without a tick for this long is sent again (PROTOCOL.md). */
#define CLIENT_RESEND_MS 10000
/* Answers one device gives to resend requests for one message. */
#define CLIENT_RESEND_ANSWERS_MAX 3
/* One-time prekeys uploaded by init. */
#define CLIENT_PREKEYS_DEFAULT 20
/* Users per get_keys request (PROTOCOL.md). */
#define CLIENT_KEYS_BATCH 50
/* Messages per sync page asked for. */
#define CLIENT_SYNC_PAGE 100

/* A user's keys as the directory gave them, checked. */
struct client_user_keys {
	struct client_user_keys *next;
	char user[CHAT_ID_MAX + 1];
	bool published; /* the directory has keys for the user */
	unsigned char identity[E2E_IDENTITY_PUBLIC_BYTES];
	bool list_valid; /* list is signed by identity */
	struct e2e_device_list list;
	long long list_version;     /* as stored, even when not valid; or 0 */
	struct e2e_bundle *bundles; /* only those signed by identity */
	size_t bundle_count;
	long long fetched_ms; /* monotonic */
};

struct chat_client {
	struct client_state state;
	struct client_account account;
	struct client_session session;
	bool session_ready; /* session initialised */
	bool catching_up;   /* chat_client_sync ran: catch up on reconnect */
	unsigned handled_generation; /* connection whose start was handled */
	char host[CLIENT_HOST_MAX + 1];
	int port;
	char state_path[PATH_MAX - 160];
	char files_dir[PATH_MAX - 128]; /* ciphertexts on their way */
	char error[1024];

	chat_message_fn on_message;
	void *message_ctx;
	chat_notice_fn on_notice;
	void *notice_ctx;
	enum chat_receipts receipts;
	long long receipts_sent_ms;
	int prekeys; /* uploaded when keys are published; 0: default */

	struct client_user_keys *keys;
	/* The last outbox entry the server refused for good, and why. */
	char refused_cmid[CHAT_CMID_SIZE];
	char refused_reason[512];
	/* Conversations with a missing seq, to be synced. */
	char (*gaps)[CHAT_ID_MAX + 1];
	size_t gap_count;
};

/* ---- client.c ---- */

/* Sets the error message and returns code. */
int client_fail(struct chat_client *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Tells the user something through the notice callback. */
void client_notice(struct chat_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A request that must succeed: CHAT_OK with *resp (caller frees), or
 * CHAT_ERR_REFUSED (message names op and code; *resp still set for the
 * caller to look at) or CHAT_ERR_NETWORK. */
int client_request(struct chat_client *c, cJSON *req, cJSON **resp);

/* Calls each for every conversation of the user, asking page after page;
 * stops at the first result other than CHAT_OK and returns it. */
int client_each_conversation(struct chat_client *c,
                             int (*each)(struct chat_client *c,
                                         const cJSON *item, void *ctx),
                             void *ctx);

/* A request object {"op": op}, or NULL without memory. */
cJSON *client_new_request(const char *op);

long long client_monotonic_ms(void);

/* Fails with CHAT_ERR_NETWORK unless connected. */
int client_require_session(struct chat_client *c);

/* ---- keys.c ---- */

/* whoami, bundle, device list and prekeys, then marks them published. */
int client_keys_publish_own(struct chat_client *c, int prekeys);

/* Fetches keys for users into the cache, CLIENT_KEYS_BATCH at a time. */
int client_keys_fetch(struct chat_client *c, const char *const *users,
                      size_t count);

/* The cached keys of user, fetched when missing or older than max_age_ms
 * (-1: any age). */
int client_keys_get(struct chat_client *c, const char *user,
                    long long max_age_ms, struct client_user_keys **out);

/* The valid bundle of a device, or NULL. */
const struct e2e_bundle *client_keys_bundle(const struct client_user_keys *k,
                                            const char *device);

/* Compares the user's identity key with the trusted one, trusting it on
 * first use. CHAT_ERR_UNTRUSTED (with a notice) when it changed. */
int client_keys_check_trust(struct chat_client *c,
                            const struct client_user_keys *k);

/* Forgets cached keys of one user (NULL: all). */
void client_keys_forget(struct chat_client *c, const char *user);

/* ---- outbox.c ---- */

/*
 * Encrypts plaintext for the conversation's members and adds it to the
 * outbox under cmid, then publishes it. When upload_id > 0, that upload's
 * row is removed in the same transaction.
 */
int client_outbox_send(struct chat_client *c, const char *convo,
                       const char *cmid, const char *plaintext,
                       const char *attachments, long long upload_id);

/* Publishes outbox entries again: all of them, or those unticked for
 * CLIENT_RESEND_MS. */
int client_outbox_resend(struct chat_client *c, bool all);

/* An error event: a refused send is retried or given up. */
void client_outbox_error_event(struct chat_client *c, const cJSON *event);

/* Encrypts plaintext for every device of every current member. */
int client_seal_for_convo(struct chat_client *c, const char *convo,
                          const char *cmid, const char *plaintext, char **body);

/* ---- receive.c ---- */

/*
 * Takes in one stamped message (live or from a sync page): a tick of an
 * outbox entry, a message already held (ignored) or a new one, decrypted
 * and stored. Returns CHAT_OK, or CHAT_ERR_NETWORK when keys could not be
 * fetched (nothing stored: a later sync brings it again).
 */
int client_receive(struct chat_client *c, const cJSON *msg);

/* ---- sync.c ---- */

/* Step 3 of the reconnect recipe for every conversation. */
int client_sync_all(struct chat_client *c);

/* Sync pages of one conversation from its contiguous cursor to its
 * head. */
int client_sync_convo(struct chat_client *c, const char *convo);

/* Remembers that a conversation has a missing seq. */
void client_sync_note_gap(struct chat_client *c, const char *convo);

/* Syncs every conversation with a gap. */
int client_sync_gaps(struct chat_client *c);

/* Takes in everything queued: messages, events, key changes. */
int client_process_incoming(struct chat_client *c);

/* Hands every message that became due to the message callback. */
int client_show_pending(struct chat_client *c);

/* Sends coalesced receipts for what was shown. */
int client_send_receipts(struct chat_client *c, bool now);

#endif
