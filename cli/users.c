#include "chatctl.h"

#include "db.h"

#include <stdio.h>
#include <string.h>

static int insert_user(struct chatctl *ctl, const char *user)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "INSERT INTO users (id, kind, created_at) "
	         "VALUES (?, 'user', ?)");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, chat_now_ms());
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "storing the user");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs inside a write transaction, so a concurrent `user add` of the same
 * id waits and then sees this one. */
static int create_user(struct chatctl *ctl, const char *user, const char *label,
                       char token[CHAT_TOKEN_LEN + 1], long long *device_id)
{
	char kind[CHATCTL_KIND_MAX];

	if (chatctl_store_user_kind(ctl, user, kind, sizeof(kind)) != 0)
		return -1;
	if (kind[0] != '\0') {
		chatctl_error("user %s already exists: `chatctl device add %s` "
		              "issues another token",
		              user, user);
		return -1;
	}
	if (insert_user(ctl, user) != 0)
		return -1;
	return chatctl_device_create(ctl, user, label, token, device_id);
}

static int check_new_user(struct chatctl *ctl, struct chatctl_args *args)
{
	const char *user = args->positional[0];

	if (chatctl_require_user_id(user) != 0)
		return -1;
	if (strcmp(user, ctl->opts.service_user) == 0) {
		chatctl_error("%s is reserved for the service account", user);
		return -1;
	}
	return chatctl_require_label(args->label);
}

static int user_add(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	char token[CHAT_TOKEN_LEN + 1];
	long long device_id = 0;
	const char *user;

	if (chatctl_args_parse(argc, argv, CHATCTL_FLAG_LABEL, 1, &args) != 0) {
		chatctl_usage_of("user add <id> [--label L]");
		return CHATCTL_USAGE;
	}
	user = args.positional[0];
	if (check_new_user(ctl, &args) != 0)
		return CHATCTL_FAILED;
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, true) != 0)
		return CHATCTL_FAILED;
	if (create_user(ctl, user, args.label, token, &device_id) != 0 ||
	    chatctl_store_commit(ctl) != 0) {
		chatctl_store_rollback(ctl);
		return CHATCTL_FAILED;
	}
	chatctl_print_token(user, device_id, token);
	return CHATCTL_OK;
}

static int user_id_width(struct chatctl *ctl, int *width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT COALESCE(MAX(length(id)), 0) FROM users "
	         "WHERE kind = 'user'");
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*width = sqlite3_column_int(stmt, 0);
	else
		chatctl_store_failed(ctl, "listing users");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int print_users(struct chatctl *ctl, int width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT u.id, u.created_at, (SELECT COUNT(*) FROM devices d "
	         "WHERE d.user_id = u.id AND d.revoked_at IS NULL) "
	         "FROM users u WHERE u.kind = 'user' ORDER BY u.id");
	char created[CHATCTL_TIME_LEN];
	int rc;

	if (stmt == NULL)
		return -1;
	printf("%-*s %-7s %s\n", width, "USER", "ACTIVE", "CREATED");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		chatctl_format_time(sqlite3_column_int64(stmt, 1), created);
		printf("%-*s %-7d %s\n", width,
		       (const char *)sqlite3_column_text(stmt, 0),
		       sqlite3_column_int(stmt, 2), created);
	}
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "listing users");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int user_list(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	int width = 0, rc = CHATCTL_FAILED;

	if (chatctl_args_parse(argc, argv, 0, 0, &args) != 0) {
		chatctl_usage_of("user list");
		return CHATCTL_USAGE;
	}
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, false) != 0)
		return CHATCTL_FAILED;
	if (user_id_width(ctl, &width) == 0 &&
	    print_users(ctl, width < 4 ? 4 : width) == 0)
		rc = CHATCTL_OK;
	chatctl_store_rollback(ctl); /* a read snapshot: nothing to keep */
	return rc;
}

int chatctl_user_command(struct chatctl *ctl, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";

	if (strcmp(verb, "add") == 0)
		return user_add(ctl, argc - 1, argv + 1);
	if (strcmp(verb, "list") == 0)
		return user_list(ctl, argc - 1, argv + 1);
	chatctl_usage();
	return CHATCTL_USAGE;
}
