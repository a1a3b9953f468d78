#include "chatctl.h"

#include "db.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* What `chatctl init` found and did, for its one-line report. */
struct init_outcome {
	bool database_created;
	int schema_before;
	int schema_after;
	bool account_created;
	bool token_issued;
	bool token_mode_fixed;
};

static int insert_service_account(struct chatctl *ctl)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "INSERT INTO users (id, kind, created_at) "
	         "VALUES (?, 'service', ?)");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, ctl->opts.service_user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, chat_now_ms());
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "storing the service account");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int ensure_service_account(struct chatctl *ctl, bool *created)
{
	char kind[CHATCTL_KIND_MAX];

	*created = false;
	if (chatctl_store_user_kind(ctl, ctl->opts.service_user, kind,
	                            sizeof(kind)) != 0)
		return -1;
	if (strcmp(kind, "service") == 0)
		return 0;
	if (kind[0] != '\0') {
		chatctl_error("%s is a chat user, so it cannot be the service "
		              "account: choose another plugin_opt_service_user",
		              ctl->opts.service_user);
		return -1;
	}
	*created = true;
	return insert_service_account(ctl);
}

/* Sets *active when token is that of a device of the service account that
 * is not revoked. */
static int token_is_active(struct chatctl *ctl, const char *token, bool *active)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT 1 FROM devices WHERE token_hash = ? "
	         "AND user_id = ? AND revoked_at IS NULL");
	int rc;

	if (stmt == NULL)
		return -1;
	chat_token_hash(token, strlen(token), hash);
	sqlite3_bind_blob(stmt, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, ctl->opts.service_user, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	*active = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "checking the service token");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* One service token at a time: a token that leaked with an old file stops
 * working as soon as a new one is issued. */
static int revoke_other_service_devices(struct chatctl *ctl, long long keep)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "UPDATE devices SET revoked_at = ? WHERE user_id = ? "
	         "AND id != ? AND revoked_at IS NULL");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, chat_now_ms());
	sqlite3_bind_text(stmt, 2, ctl->opts.service_user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, keep);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "revoking old service tokens");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Issues a service token and writes the file while the write transaction
 * is still open: a concurrent init waits for it and then finds the new
 * file valid instead of issuing a token of its own. If the commit fails
 * after the rename, the file holds an unknown token and the next init
 * replaces it.
 */
static int issue_service_token(struct chatctl *ctl)
{
	char token[CHAT_TOKEN_LEN + 1];
	long long device_id = 0;
	int rc = -1;

	if (chatctl_device_create(ctl, ctl->opts.service_user, "service token",
	                          token, &device_id) != 0 ||
	    revoke_other_service_devices(ctl, device_id) != 0)
		goto cleanup;
	rc = chatctl_token_file_write(ctl->opts.service_token_file, token);
cleanup:
	sodium_memzero(token, sizeof(token));
	return rc;
}

/* The file is readable by its owner only; an older copy may not be. */
static int restrict_token_file(const char *path, bool *fixed)
{
	struct stat st;

	*fixed = false;
	if (stat(path, &st) != 0 || (st.st_mode & 077) == 0)
		return 0;
	if (chmod(path, 0600) != 0) {
		chatctl_error("cannot restrict %s to its owner: %s", path,
		              strerror(errno));
		return -1;
	}
	*fixed = true;
	return 0;
}

static int ensure_service_token(struct chatctl *ctl,
                                struct init_outcome *outcome)
{
	char token[CHAT_TOKEN_LEN + 1] = "";
	bool active = false;
	int rc = chatctl_token_file_read(ctl->opts.service_token_file, token);

	if (rc == 0)
		rc = token_is_active(ctl, token, &active);
	sodium_memzero(token, sizeof(token));
	if (rc < 0)
		return -1;
	if (active)
		return restrict_token_file(ctl->opts.service_token_file,
		                           &outcome->token_mode_fixed);
	outcome->token_issued = true;
	return issue_service_token(ctl);
}

static void print_outcome(const struct chatctl *ctl,
                          const struct init_outcome *o)
{
	const struct chat_options *opts = &ctl->opts;

	if (o->database_created)
		printf("database %s created at schema %d", opts->db_path,
		       o->schema_after);
	else if (o->schema_before != o->schema_after)
		printf("database %s migrated from schema %d to %d",
		       opts->db_path, o->schema_before, o->schema_after);
	else
		printf("database %s up to date at schema %d", opts->db_path,
		       o->schema_after);
	printf("; service account %s %s", opts->service_user,
	       o->account_created ? "created" : "present");
	if (o->token_issued)
		printf("; new service token written to %s\n",
		       opts->service_token_file);
	else
		printf("; service token in %s is valid%s\n",
		       opts->service_token_file,
		       o->token_mode_fixed ? " (now mode 0600)" : "");
}

/*
 * Idempotent set-up: creates or migrates the database, makes sure the
 * service account exists and that its token file holds an active token.
 * Safe while the broker and the bridge run.
 */
int chatctl_init_command(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	struct init_outcome outcome = {0};

	if (chatctl_args_parse(argc, argv, 0, 0, &args) != 0) {
		chatctl_usage_of("init");
		return CHATCTL_USAGE;
	}
	if (chatctl_store_open_or_create(ctl, &outcome.database_created) != 0 ||
	    chatctl_store_migrate(ctl, &outcome.schema_before,
	                          &outcome.schema_after) != 0 ||
	    chatctl_store_begin(ctl, true) != 0)
		return CHATCTL_FAILED;
	if (ensure_service_account(ctl, &outcome.account_created) != 0 ||
	    ensure_service_token(ctl, &outcome) != 0 ||
	    chatctl_store_commit(ctl) != 0) {
		chatctl_store_rollback(ctl);
		return CHATCTL_FAILED;
	}
	print_outcome(ctl, &outcome);
	return CHATCTL_OK;
}
