#include "chatctl.h"

#include "db.h"
#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Issues a token for user: a fresh random token whose keyed hash, never the
 * token itself, goes into a new devices row. The caller holds a write
 * transaction and prints the token once.
 */
int chatctl_device_create(struct chatctl *ctl, const char *user,
                          const char *label, char token[CHAT_TOKEN_LEN + 1],
                          long long *device_id)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "INSERT INTO devices (user_id, token_hash, label, "
	         "created_at) VALUES (?, ?, ?, ?)");
	int rc;

	if (stmt == NULL)
		return -1;
	chat_token_generate(token);
	chat_token_hash(token, CHAT_TOKEN_LEN, hash);
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, hash, sizeof(hash), SQLITE_STATIC);
	if (label != NULL)
		sqlite3_bind_text(stmt, 3, label, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, chat_now_ms());
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		*device_id = sqlite3_last_insert_rowid(ctl->db);
	else
		chatctl_store_failed(ctl, "storing the device");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int add_in_transaction(struct chatctl *ctl, const char *user,
                              const char *label, char token[CHAT_TOKEN_LEN + 1],
                              long long *device_id)
{
	if (chatctl_store_require_chat_user(ctl, user) != 0)
		return -1;
	return chatctl_device_create(ctl, user, label, token, device_id);
}

static int device_add(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	char token[CHAT_TOKEN_LEN + 1];
	long long device_id = 0;
	const char *user;

	if (chatctl_args_parse(argc, argv, CHATCTL_FLAG_LABEL, 1, &args) != 0) {
		chatctl_usage_of("device add <user> [--label L]");
		return CHATCTL_USAGE;
	}
	user = args.positional[0];
	if (chatctl_require_user_id(user) != 0)
		return CHATCTL_FAILED;
	if (chatctl_require_label(args.label) != 0)
		return CHATCTL_FAILED;
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, true) != 0)
		return CHATCTL_FAILED;
	if (add_in_transaction(ctl, user, args.label, token, &device_id) != 0 ||
	    chatctl_store_commit(ctl) != 0) {
		chatctl_store_rollback(ctl);
		return CHATCTL_FAILED;
	}
	chatctl_print_token(user, device_id, token);
	return CHATCTL_OK;
}

static int label_width(struct chatctl *ctl, const char *user, int *width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT COALESCE(MAX(length(CAST(label AS BLOB))), 0) "
	         "FROM devices WHERE user_id = ?");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*width = sqlite3_column_int(stmt, 0);
	else
		chatctl_store_failed(ctl, "listing devices");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

static void print_device(sqlite3_stmt *stmt, int width)
{
	const char *label = (const char *)sqlite3_column_text(stmt, 1);
	char created[CHATCTL_TIME_LEN], revoked[CHATCTL_TIME_LEN] = "active";

	chatctl_format_time(sqlite3_column_int64(stmt, 2), created);
	if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
		chatctl_format_time(sqlite3_column_int64(stmt, 3), revoked);
	printf("%-8lld %-*s %-20s %s\n", sqlite3_column_int64(stmt, 0), width,
	       label ? label : "-", created, revoked);
}

static int print_devices(struct chatctl *ctl, const char *user, int width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT id, label, created_at, revoked_at FROM devices "
	         "WHERE user_id = ? ORDER BY id");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	printf("%-8s %-*s %-20s %s\n", "DEVICE", width, "LABEL", "CREATED",
	       "REVOKED");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		print_device(stmt, width);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "listing devices");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int list_in_snapshot(struct chatctl *ctl, const char *user)
{
	int width = 0;

	if (chatctl_store_require_user(ctl, user) != 0 ||
	    label_width(ctl, user, &width) != 0)
		return -1;
	return print_devices(ctl, user, width < 5 ? 5 : width);
}

static int device_list(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	int rc = CHATCTL_FAILED;
	const char *user;

	if (chatctl_args_parse(argc, argv, 0, 1, &args) != 0) {
		chatctl_usage_of("device list <user>");
		return CHATCTL_USAGE;
	}
	user = args.positional[0];
	/* The service account's id need not be a valid user id ("$bridge"),
	 * but its devices are worth seeing. */
	if (strcmp(user, ctl->opts.service_user) != 0 &&
	    chatctl_require_user_id(user) != 0)
		return CHATCTL_FAILED;
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, false) != 0)
		return CHATCTL_FAILED;
	if (list_in_snapshot(ctl, user) == 0)
		rc = CHATCTL_OK;
	chatctl_store_rollback(ctl); /* a read snapshot: nothing to keep */
	return rc;
}

static int parse_device_id(const char *text, long long *id)
{
	char quoted[CHATCTL_QUOTED_MAX];
	char *end;

	/* strtoll alone would also take " 7", "+7" and "-7". */
	if (text[0] >= '0' && text[0] <= '9') {
		errno = 0;
		*id = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0' && *id > 0)
			return 0;
	}
	chatctl_error("invalid device id %s: a number from `chatctl device "
	              "list`",
	              chatctl_quote(text, quoted, sizeof(quoted)));
	return -1;
}

/* Reads the device's owner and whether it is already revoked. */
static int find_device(struct chatctl *ctl, long long id, char *user,
                       size_t userlen, bool *revoked)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT user_id, revoked_at IS NOT NULL FROM devices "
	         "WHERE id = ?");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	user[0] = '\0';
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(user, userlen, "%s",
		         (const char *)sqlite3_column_text(stmt, 0));
		*revoked = sqlite3_column_int(stmt, 1) != 0;
	} else if (rc != SQLITE_DONE) {
		chatctl_store_failed(ctl, "looking up the device");
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int mark_revoked(struct chatctl *ctl, long long id)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "UPDATE devices SET revoked_at = ? WHERE id = ?");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, chat_now_ms());
	sqlite3_bind_int64(stmt, 2, id);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "revoking the device");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int revoke_in_transaction(struct chatctl *ctl, long long id, char *user,
                                 size_t userlen)
{
	bool revoked = false;

	if (find_device(ctl, id, user, userlen, &revoked) != 0)
		return -1;
	if (user[0] == '\0') {
		chatctl_error("no device %lld", id);
		return -1;
	}
	if (revoked) {
		chatctl_error("device %lld of %s is already revoked", id, user);
		return -1;
	}
	return mark_revoked(ctl, id);
}

static int device_revoke(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	char user[CHAT_ID_MAX + 1];
	long long id;

	if (chatctl_args_parse(argc, argv, 0, 1, &args) != 0) {
		chatctl_usage_of("device revoke <device-id>");
		return CHATCTL_USAGE;
	}
	if (parse_device_id(args.positional[0], &id) != 0)
		return CHATCTL_FAILED;
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, true) != 0)
		return CHATCTL_FAILED;
	if (revoke_in_transaction(ctl, id, user, sizeof(user)) != 0 ||
	    chatctl_store_commit(ctl) != 0) {
		chatctl_store_rollback(ctl);
		return CHATCTL_FAILED;
	}
	printf("revoked device %lld of %s\n", id, user);
	if (strcmp(user, ctl->opts.service_user) == 0)
		fprintf(stderr, "that was the bridge's token: run `chatctl "
		                "init` to issue a new one\n");
	return CHATCTL_OK;
}

int chatctl_device_command(struct chatctl *ctl, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";

	if (strcmp(verb, "add") == 0)
		return device_add(ctl, argc - 1, argv + 1);
	if (strcmp(verb, "list") == 0)
		return device_list(ctl, argc - 1, argv + 1);
	if (strcmp(verb, "revoke") == 0)
		return device_revoke(ctl, argc - 1, argv + 1);
	chatctl_usage();
	return CHATCTL_USAGE;
}
