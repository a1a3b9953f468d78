/*
 * Many users at once, written straight into the store: `chatctl user add`
 * costs a process and a transaction per user, too slow for a channel of
 * thousands. The rows are the ones chatctl writes (a users row and a
 * devices row holding the keyed hash of a fresh token), so the plugin
 * authenticates these users exactly like any other.
 */
#include "harness.h"

#include "db.h"
#include "token.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 10000

static int insert_account(sqlite3_stmt *user, sqlite3_stmt *device,
                          const struct test_account *a, long long now)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	int rc;

	chat_token_hash(a->token, strlen(a->token), hash);
	sqlite3_bind_text(user, 1, a->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(user, 2, now);
	sqlite3_bind_text(device, 1, a->user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(device, 2, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(device, 3, now);
	rc = sqlite3_step(user) == SQLITE_DONE &&
	             sqlite3_step(device) == SQLITE_DONE
	         ? 0
	         : -1;
	sqlite3_reset(user);
	sqlite3_reset(device);
	return rc;
}

static int insert_all(sqlite3 *db, const struct test_account *accounts,
                      size_t count)
{
	sqlite3_stmt *user = NULL, *device = NULL;
	long long now = chat_now_ms();
	int rc = -1;

	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO users (id, kind, created_at) "
	                       "VALUES (?, 'user', ?)",
	                       -1, &user, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO devices (user_id, token_hash, "
	                       "label, created_at) VALUES (?, ?, 'test', ?)",
	                       -1, &device, NULL) != SQLITE_OK)
		goto cleanup;
	for (size_t i = 0; i < count; i++) {
		if (insert_account(user, device, &accounts[i], now) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		test_log("inserting users: %s", sqlite3_errmsg(db));
	sqlite3_finalize(user);
	sqlite3_finalize(device);
	return rc;
}

int chat_server_insert_accounts(struct chat_server *srv, const char *prefix,
                                struct test_account *out, size_t count)
{
	sqlite3 *db = NULL;
	int rc = -1;

	if (chat_crypto_init() != 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		snprintf(out[i].user, sizeof(out[i].user), "%s%04zu", prefix,
		         i);
		chat_token_generate(out[i].token);
	}
	if (sqlite3_open_v2(srv->db_path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		test_log("cannot open %s", srv->db_path);
		goto cleanup;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto cleanup;
	if (insert_all(db, out, count) == 0 &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
cleanup:
	if (db && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

void test_account_names(const struct test_account *accounts, size_t count,
                        const char **names)
{
	for (size_t i = 0; i < count; i++)
		names[i] = accounts[i].user;
}
