/*
 * The admin CLI: users, device tokens and conversations, written straight
 * into the SQLite store while the broker and the bridge keep running.
 * Group changes are the exception: the bridge, the only writer of
 * messages, carries them out so that members get their system messages;
 * chatctl hands them over through the admin_requests table and waits.
 *
 * Every command prints its result on stdout and nothing else, so scripts
 * can capture it (TOKEN=$(chatctl user add alice)); hints for the operator
 * and errors go to stderr, errors starting with "chatctl: ".
 */
#ifndef CHATCTL_H
#define CHATCTL_H

#include "options.h"
#include "token.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses. */
enum {
	CHATCTL_OK = 0,
	CHATCTL_FAILED = 1,
	CHATCTL_USAGE = 2,
};

/* Short writes must not wait forever for the bridge's batch commits. */
#define CHATCTL_BUSY_MS 5000

/* Device labels are free text shown in listings; kept short and printable. */
#define CHATCTL_LABEL_MAX 64

/* Room for an operator-supplied string echoed back in an error. */
#define CHATCTL_QUOTED_MAX 96

/* users.kind: "user" or "service", and its NUL. */
#define CHATCTL_KIND_MAX 16

/* "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define CHATCTL_TIME_LEN 21

/* Users one group command may name (operands or --member options). */
#define CHATCTL_USERS_MAX 500

/* The actor of group commands without --by: an admin of every group. */
#define CHATCTL_ADMIN_ACTOR "$admin"

/* How long a group command waits for the bridge, and how often it looks;
 * CHATCTL_BRIDGE_WAIT_MS in the environment overrides the wait. */
#define CHATCTL_BRIDGE_WAIT_MS 10000
#define CHATCTL_BRIDGE_POLL_MS 50

struct chatctl {
	struct chat_options opts;
	sqlite3 *db;
};

/* One command family: "user", "device", "convo", "group", "init". */
typedef int (*chatctl_command_fn)(struct chatctl *ctl, int argc, char **argv);

int chatctl_init_command(struct chatctl *ctl, int argc, char **argv);
int chatctl_user_command(struct chatctl *ctl, int argc, char **argv);
int chatctl_device_command(struct chatctl *ctl, int argc, char **argv);
int chatctl_convo_command(struct chatctl *ctl, int argc, char **argv);
int chatctl_group_command(struct chatctl *ctl, int argc, char **argv);

/* report.c: messages for the operator. */
void chatctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void chatctl_usage_of(const char *synopsis);
void chatctl_usage(void);
/* `chatctl help`, `-h`, `--help`: the same text on stdout. */
void chatctl_help(void);
void chatctl_format_time(long long ms, char out[CHATCTL_TIME_LEN]);
const char *chatctl_quote(const char *text, char *out, size_t outlen);
void chatctl_print_text(FILE *out, const char *text);
void chatctl_print_token(const char *user, long long device_id,
                         const char *token);

/* args.c: the arguments after a command's verb. */
enum chatctl_flag {
	CHATCTL_FLAG_LABEL = 1 << 0,   /* --label L */
	CHATCTL_FLAG_USER = 1 << 1,    /* --user U */
	CHATCTL_FLAG_OWNER = 1 << 2,   /* --owner U */
	CHATCTL_FLAG_MEMBER = 1 << 3,  /* --member U, repeatable */
	CHATCTL_FLAG_CHANNEL = 1 << 4, /* --channel, no value */
	CHATCTL_FLAG_BY = 1 << 5,      /* --by U */
};

/* A group command's conversation and its users. */
#define CHATCTL_POSITIONAL_MAX (CHATCTL_USERS_MAX + 1)

struct chatctl_args {
	const char *positional[CHATCTL_POSITIONAL_MAX];
	int count;
	const char *members[CHATCTL_USERS_MAX];
	int member_count;
	const char *label;
	const char *user;
	const char *owner;
	const char *by;
	bool channel;
};

int chatctl_args_parse(int argc, char **argv, unsigned flags, int positional,
                       struct chatctl_args *out);
int chatctl_args_parse_range(int argc, char **argv, unsigned flags, int min,
                             int max, struct chatctl_args *out);
bool chatctl_printable(const char *text);
bool chatctl_label_valid(const char *label);
int chatctl_require_label(const char *label);
int chatctl_require_user_id(const char *id);
int chatctl_require_convo_id(const char *id);

/* store.c: opening the database and short transactions. */
int chatctl_store_open_existing(struct chatctl *ctl);
int chatctl_store_open_or_create(struct chatctl *ctl, bool *created);
int chatctl_store_migrate(struct chatctl *ctl, int *from, int *to);
void chatctl_store_close(struct chatctl *ctl);
sqlite3_stmt *chatctl_store_prepare(struct chatctl *ctl, const char *sql);
int chatctl_store_begin(struct chatctl *ctl, bool write);
int chatctl_store_commit(struct chatctl *ctl);
void chatctl_store_rollback(struct chatctl *ctl);
int chatctl_store_failed(struct chatctl *ctl, const char *what);
int chatctl_store_user_kind(struct chatctl *ctl, const char *user, char *kind,
                            size_t kindlen);
int chatctl_store_require_user(struct chatctl *ctl, const char *user);
int chatctl_store_require_chat_user(struct chatctl *ctl, const char *user);

/* devices.c: a new device row; the caller holds a write transaction. */
int chatctl_device_create(struct chatctl *ctl, const char *user,
                          const char *label, char token[CHAT_TOKEN_LEN + 1],
                          long long *device_id);

/* admin_request.c: a request run by the bridge as actor. On 0, *response
 * is the bridge's answer (free with cJSON_Delete); on -1 the reason has
 * been printed. */
int chatctl_admin_request(struct chatctl *ctl, const char *actor,
                          const cJSON *request, cJSON **response);

/* token_file.c: the service token the bridge reads at start-up. */
int chatctl_token_file_read(const char *path, char token[CHAT_TOKEN_LEN + 1]);
int chatctl_token_file_write(const char *path, const char *token);
int chatctl_make_parent_dirs(const char *path);

#endif
