/*
 * libchatclient: the reference end-to-end encrypting client of the chat
 * server (docs/E2E.md, docs/PROTOCOL.md), as a library for C programs.
 * The `chat` command line program (client/cli.c) is one user of it.
 *
 * A client is one device of one user. Its state (keys, trusted identity
 * keys, cursors, received messages, the outbox) lives in one SQLite file,
 * so a program may be killed at any moment and started again: messages
 * not yet acknowledged by the server are sent again with the same cmid
 * (stored once by the server), messages already received are not shown
 * again.
 *
 * Everything runs on the caller's thread; nothing happens between calls.
 * A client must not be shared between threads. Functions return CHAT_OK
 * or a negative enum chat_result, with a message in chat_client_error().
 */
#ifndef CHAT_CLIENT_H
#define CHAT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

enum chat_result {
	CHAT_OK = 0,
	CHAT_ERR_USAGE = -1,     /* an argument is not valid */
	CHAT_ERR_STATE = -2,     /* the state file */
	CHAT_ERR_NETWORK = -3,   /* no connection, or no answer in time */
	CHAT_ERR_REFUSED = -4,   /* the server refused a request */
	CHAT_ERR_AUTH = -5,      /* the server refused the credentials */
	CHAT_ERR_CRYPTO = -6,    /* a signature, hash or decryption failed */
	CHAT_ERR_UNTRUSTED = -7, /* a member's identity key changed */
	CHAT_ERR_IO = -8,        /* a local file */
	CHAT_ERR_NOT_FOUND = -9, /* no such message, user or key */
	CHAT_ERR_STOPPED = -10,  /* a progress callback asked to stop */
	CHAT_ERR_NO_MEMORY = -11,
};

#define CHAT_DEFAULT_HOST "127.0.0.1"
#define CHAT_DEFAULT_PORT 1884
/* Buffers for a cmid and a safety number, NUL included. */
#define CHAT_CMID_SIZE        65
#define CHAT_FINGERPRINT_SIZE 72

struct chat_client;

/* ---- setting up a device ---- */

struct chat_init_options {
	const char *state_path; /* created; must not exist */
	const char *host;       /* NULL: CHAT_DEFAULT_HOST */
	int port;               /* 0: CHAT_DEFAULT_PORT */
	const char *user;
	const char *token;         /* a device token from chatctl */
	const char *identity_file; /* from export-identity; NULL: new */
	int prekeys;               /* one-time prekeys to upload; 0: 20 */
};

/*
 * Creates the state of a new device: the identity key (new, or imported),
 * a device key and the credentials; then connects, learns the device id
 * (whoami), publishes the signed bundle and the signed device list (the
 * current one plus this device, one version up) and uploads one-time
 * prekeys. Run again on a state whose publishing did not finish, it
 * finishes it. err receives a message on failure.
 */
int chat_client_init(const struct chat_init_options *o, char *err,
                     size_t errlen);

/* ---- a client ---- */

int chat_client_open(const char *state_path, struct chat_client **out,
                     char *err, size_t errlen);

/* Waits briefly for the broker to acknowledge what was published, then
 * disconnects and frees everything. NULL is ignored. */
void chat_client_close(struct chat_client *c);

const char *chat_client_error(const struct chat_client *c);
const char *chat_client_user(const struct chat_client *c);
const char *chat_client_device(const struct chat_client *c);

/* Uses another server address than the stored one (before connecting). */
void chat_client_set_server(struct chat_client *c, const char *host, int port);

/*
 * Connects. A durable connection uses the device's stable client id with
 * a persistent session (for a long-running listener); otherwise a fresh
 * client id with a clean session, which never takes over the session of a
 * listener of the same device. Then sends every outbox entry again (same
 * cmid) and finishes publishing keys if `init` could not.
 */
int chat_client_connect(struct chat_client *c, bool durable);

/* ---- receiving ---- */

enum chat_message_kind {
	CHAT_MESSAGE_TEXT,
	CHAT_MESSAGE_FILE,
	CHAT_MESSAGE_SYSTEM,     /* a group change: system_type, event */
	CHAT_MESSAGE_UNREADABLE, /* could not be decrypted: error */
};

struct chat_file {
	const char *blob;
	const char *name;
	const char *type;
	long long size; /* of the plaintext */
};

/* Strings live until the callback returns. */
struct chat_message {
	const char *convo;
	long long seq;
	const char *id;
	const char *from;
	long long ts;
	const char *cmid;
	enum chat_message_kind kind;
	const char *text;         /* CHAT_MESSAGE_TEXT */
	struct chat_file file;    /* CHAT_MESSAGE_FILE */
	const char *system_type;  /* CHAT_MESSAGE_SYSTEM: "added", ... */
	const char *system_event; /* CHAT_MESSAGE_SYSTEM: JSON text */
	const char *error;        /* CHAT_MESSAGE_UNREADABLE: why */
};

/* Called once per message, in seq order within each conversation, when
 * every earlier message of the conversation is held. */
typedef void (*chat_message_fn)(void *ctx, const struct chat_message *m);

/* Things a user should know that are not messages: an identity key that
 * changed, a message the server refused for good. */
typedef void (*chat_notice_fn)(void *ctx, const char *text);

void chat_client_on_message(struct chat_client *c, chat_message_fn fn,
                            void *ctx);
void chat_client_on_notice(struct chat_client *c, chat_notice_fn fn, void *ctx);

enum chat_receipts {
	CHAT_RECEIPTS_NONE,
	CHAT_RECEIPTS_DELIVERED, /* "delivered" up to what was shown */
	CHAT_RECEIPTS_READ,      /* "delivered" and "read" */
};

/* Which receipts chat_client_sync and chat_client_poll send (coalesced,
 * one per conversation and round). Default: delivered. */
void chat_client_set_receipts(struct chat_client *c, enum chat_receipts r);

/*
 * Catches up: `conversations`, then `sync` pages of every conversation
 * from its contiguous cursor, showing what became due. From now on every
 * reconnect catches up again.
 */
int chat_client_sync(struct chat_client *c);

/*
 * Runs for at most timeout_ms: takes in live messages (syncing when a seq
 * is missing), answers resend requests for messages this device sent,
 * sends unticked outbox entries again after 10 s, sends receipts and
 * shows what became due.
 */
int chat_client_poll(struct chat_client *c, int timeout_ms);

/* ---- sending ---- */

/*
 * Encrypts text for every device of every current member and sends it.
 * Refused (CHAT_ERR_UNTRUSTED) while a member's identity key differs from
 * the trusted one. cmid (may be NULL) receives the message's cmid. The
 * message stays in the outbox until its tick arrives.
 */
int chat_client_send_text(struct chat_client *c, const char *convo,
                          const char *text, char cmid[CHAT_CMID_SIZE]);

/* Upload progress in ciphertext bytes; a non-zero return stops the
 * upload, which the next send of the same file resumes. */
typedef int (*chat_progress_fn)(void *ctx, long long done, long long total);

/*
 * Encrypts the file (up to 100 MiB) into the state folder, uploads it in
 * chunks, resuming an upload of the same file to the same conversation
 * that was interrupted, and sends the message that carries its key. type
 * NULL: guessed from the name. progress may be NULL.
 */
int chat_client_send_file(struct chat_client *c, const char *convo,
                          const char *path, const char *type,
                          chat_progress_fn progress, void *ctx,
                          char cmid[CHAT_CMID_SIZE]);

/* Polls until (convo, cmid) is ticked: CHAT_OK, or CHAT_ERR_NETWORK after
 * timeout_ms (it stays in the outbox). */
int chat_client_wait_sent(struct chat_client *c, const char *convo,
                          const char *cmid, int timeout_ms);

/* Polls until the outbox is empty; CHAT_ERR_NETWORK after timeout_ms. */
int chat_client_flush(struct chat_client *c, int timeout_ms);

/* Finishes uploads an earlier run left unfinished and sends their
 * messages. */
int chat_client_resume_uploads(struct chat_client *c);

/*
 * Downloads the file of message seq, checks its hash, decrypts it and
 * writes out_path (through a temporary file, renamed at the end).
 */
int chat_client_get_file(struct chat_client *c, const char *convo,
                         long long seq, const char *out_path);

/* Sends a read receipt up to the newest message held after catching up
 * the conversation; *seq (may be NULL) receives it. */
int chat_client_mark_read(struct chat_client *c, const char *convo,
                          long long *seq);

/* Asks, in an encrypted control message, that message seq be sent again;
 * the device that sent it answers by itself. */
int chat_client_request_resend(struct chat_client *c, const char *convo,
                               long long seq);

/* ---- conversations and trust ---- */

struct chat_conversation {
	const char *convo;
	const char *kind; /* direct, group or channel */
	const char *title;
	const char *members; /* direct conversations: "a,b"; else NULL */
	long long member_count;
	bool member;
	bool broadcast;
	long long head;
	long long read;       /* the server's read cursor */
	long long contiguous; /* held here */
};

typedef void (*chat_conversation_fn)(void *ctx,
                                     const struct chat_conversation *c);

int chat_client_conversations(struct chat_client *c, chat_conversation_fn fn,
                              void *ctx);

struct chat_safety {
	/* The two users, the smaller id first. */
	char user[2][65];
	char fingerprint[2][CHAT_FINGERPRINT_SIZE];
	/* The other user's identity key on the server differs from the
	 * trusted one shown above; this is the new one's. */
	bool changed;
	char changed_fingerprint[CHAT_FINGERPRINT_SIZE];
};

/* Safety numbers of this user and another one (trusting the other's key
 * on first use). */
int chat_client_safety(struct chat_client *c, const char *user,
                       struct chat_safety *out);

/* Trusts the user's identity key as the server now has it; fingerprint
 * (may be NULL) receives its safety number. */
int chat_client_trust(struct chat_client *c, const char *user,
                      char fingerprint[CHAT_FINGERPRINT_SIZE]);

/* Writes the identity key pair, for `init --identity` on another device of
 * the same user, into a new file of mode 0600. */
int chat_client_export_identity(struct chat_client *c, const char *path);

#endif
