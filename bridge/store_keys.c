#include "store_keys.h"

#include "store_sql.h"

#include <string.h>

static const char identity_sql[] =
    "SELECT identity, list_version, updated_at FROM identity_keys"
    " WHERE user_id = ?1";
static const char set_identity_sql[] =
    "INSERT INTO identity_keys (user_id, identity, device_list,"
    " list_version, updated_at) VALUES (?1, ?2, NULL, 0, ?3)"
    " ON CONFLICT (user_id) DO UPDATE SET identity = excluded.identity,"
    " device_list = NULL, list_version = 0,"
    " updated_at = excluded.updated_at";
static const char drop_bundles_sql[] =
    "DELETE FROM device_bundles WHERE user_id = ?1";
static const char put_bundle_sql[] =
    "INSERT OR REPLACE INTO device_bundles (user_id, device_id,"
    " device_key, created, signature) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char set_list_sql[] =
    "UPDATE identity_keys SET device_list = ?2, list_version = ?3,"
    " updated_at = ?4 WHERE user_id = ?1";
static const char keys_of_sql[] =
    "SELECT identity, device_list FROM identity_keys WHERE user_id = ?1";
/* A revoked device has no key anyone should encrypt to. */
static const char bundles_of_sql[] =
    "SELECT b.device_id, b.device_key, b.created, b.signature"
    " FROM device_bundles b JOIN devices d ON d.id = b.device_id"
    " WHERE b.user_id = ?1 AND d.revoked_at IS NULL ORDER BY b.device_id";
static const char count_prekeys_sql[] =
    "SELECT COUNT(*) FROM prekeys WHERE device_id = ?1";
static const char prekey_exists_sql[] =
    "SELECT 1 FROM prekeys WHERE device_id = ?1 AND prekey_id = ?2";
static const char put_prekey_sql[] =
    "INSERT OR REPLACE INTO prekeys (device_id, prekey_id, public_key)"
    " VALUES (?1, ?2, ?3)";
static const char first_prekey_sql[] =
    "SELECT p.rowid, p.prekey_id, p.public_key FROM prekeys p"
    " JOIN devices d ON d.id = p.device_id WHERE p.device_id = ?2"
    " AND d.user_id = ?1 AND d.revoked_at IS NULL LIMIT 1";
static const char delete_prekey_sql[] = "DELETE FROM prekeys WHERE rowid = ?1";
static const char recent_claims_sql[] =
    "SELECT COUNT(*) FROM prekey_claims WHERE claimer = ?1"
    " AND device_id = ?2 AND claimed_at > ?3";
static const char add_claim_sql[] =
    "INSERT INTO prekey_claims (claimer, device_id, claimed_at)"
    " VALUES (?1, ?2, ?3)";
/* A bounded number per claim keeps each transaction short. */
static const char prune_claims_sql[] =
    "DELETE FROM prekey_claims WHERE rowid IN (SELECT rowid FROM"
    " prekey_claims WHERE claimed_at <= ?1 ORDER BY claimed_at LIMIT 100)";

int bridge_store_identity(struct bridge_store *s, const char *user,
                          struct bridge_identity *out)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, identity_sql, &stmt);

	memset(out, 0, sizeof(*out));
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	rc = bridge_sql_step_one(stmt, &out->found);
	if (rc != SQLITE_OK)
		return rc;
	if (out->found) {
		bridge_sql_copy_column(stmt, 0, out->identity,
		                       sizeof(out->identity));
		out->list_version = sqlite3_column_int64(stmt, 1);
		out->updated_at = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

int bridge_store_set_identity(struct bridge_store *s, const char *user,
                              const char *identity, long long now_ms)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, set_identity_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	bridge_sql_bind_text(stmt, 2, identity);
	sqlite3_bind_int64(stmt, 3, now_ms);
	return bridge_sql_run(stmt);
}

int bridge_store_drop_bundles(struct bridge_store *s, const char *user)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, drop_bundles_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	return bridge_sql_run(stmt);
}

int bridge_store_put_bundle(struct bridge_store *s, const char *user,
                            const struct bridge_bundle_row *b)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, put_bundle_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	sqlite3_bind_int64(stmt, 2, b->device);
	bridge_sql_bind_text(stmt, 3, b->key);
	sqlite3_bind_int64(stmt, 4, b->created);
	bridge_sql_bind_text(stmt, 5, b->signature);
	return bridge_sql_run(stmt);
}

int bridge_store_set_device_list(struct bridge_store *s, const char *user,
                                 const char *list, long long version,
                                 long long now_ms)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, set_list_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	bridge_sql_bind_text(stmt, 2, list);
	sqlite3_bind_int64(stmt, 3, version);
	sqlite3_bind_int64(stmt, 4, now_ms);
	return bridge_sql_run(stmt);
}

int bridge_store_keys_of(struct bridge_store *s, const char *user,
                         bridge_keys_fn fn, void *ctx, bool *found)
{
	sqlite3_stmt *stmt;
	struct bridge_keys_row k;
	int rc = bridge_sql_statement(s, keys_of_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	rc = bridge_sql_step_one(stmt, found);
	if (rc != SQLITE_OK || !*found)
		goto done;
	k.identity = (const char *)sqlite3_column_text(stmt, 0);
	k.device_list = (const char *)sqlite3_column_text(stmt, 1);
	if (k.identity == NULL)
		rc = SQLITE_NOMEM;
	else
		fn(ctx, &k);
done:
	sqlite3_reset(stmt);
	return rc;
}

int bridge_store_bundles_of(struct bridge_store *s, const char *user,
                            bridge_bundle_fn fn, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = bridge_sql_statement(s, bundles_of_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, user);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct bridge_bundle_row b;

		b.device = sqlite3_column_int64(stmt, 0);
		b.key = (const char *)sqlite3_column_text(stmt, 1);
		b.created = sqlite3_column_int64(stmt, 2);
		b.signature = (const char *)sqlite3_column_text(stmt, 3);
		if (b.key == NULL || b.signature == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (!fn(ctx, &b))
			break;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int bridge_store_count_prekeys(struct bridge_store *s, long long device,
                               long long *count)
{
	sqlite3_stmt *stmt;
	bool found;
	int rc = bridge_sql_statement(s, count_prekeys_sql, &stmt);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(stmt, 1, device);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc != SQLITE_OK)
		return rc;
	*count = found ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	return SQLITE_OK;
}

static void bind_prekey_id(sqlite3_stmt *stmt, int index,
                           const struct bridge_prekey_id *id)
{
	if (id->numeric)
		sqlite3_bind_int64(stmt, index, id->number);
	else
		bridge_sql_bind_text(stmt, index, id->text);
}

int bridge_store_put_prekey(struct bridge_store *s, long long device,
                            const struct bridge_prekey_id *id, const char *key,
                            bool *added)
{
	sqlite3_stmt *exists, *put;
	bool found;
	int rc = bridge_sql_statement(s, prekey_exists_sql, &exists);

	if (rc == SQLITE_OK)
		rc = bridge_sql_statement(s, put_prekey_sql, &put);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(exists, 1, device);
	bind_prekey_id(exists, 2, id);
	rc = bridge_sql_step_one(exists, &found);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_reset(exists);
	*added = !found;
	sqlite3_bind_int64(put, 1, device);
	bind_prekey_id(put, 2, id);
	bridge_sql_bind_text(put, 3, key);
	return bridge_sql_run(put);
}

int bridge_store_take_prekey(struct bridge_store *s, const char *user,
                             long long device, bridge_prekey_fn fn, void *ctx,
                             bool *found)
{
	sqlite3_stmt *first, *drop;
	struct bridge_prekey_id id;
	const char *key;
	long long row;
	int rc = bridge_sql_statement(s, first_prekey_sql, &first);

	if (rc == SQLITE_OK)
		rc = bridge_sql_statement(s, delete_prekey_sql, &drop);
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(first, 1, user);
	sqlite3_bind_int64(first, 2, device);
	rc = bridge_sql_step_one(first, found);
	if (rc != SQLITE_OK || !*found)
		goto done;
	row = sqlite3_column_int64(first, 0);
	id.numeric = sqlite3_column_type(first, 1) == SQLITE_INTEGER;
	id.number = sqlite3_column_int64(first, 1);
	id.text = (const char *)sqlite3_column_text(first, 1);
	key = (const char *)sqlite3_column_text(first, 2);
	if (id.text == NULL || key == NULL) {
		rc = SQLITE_NOMEM;
		goto done;
	}
	fn(ctx, &id, key);
	/* Done with the row before it goes. */
	sqlite3_reset(first);
	sqlite3_bind_int64(drop, 1, row);
	return bridge_sql_run(drop);
done:
	sqlite3_reset(first);
	return rc;
}

int bridge_store_recent_claims(struct bridge_store *s, const char *claimer,
                               long long device, long long since,
                               long long *count)
{
	sqlite3_stmt *stmt;
	bool found = false;
	int rc = bridge_sql_statement(s, recent_claims_sql, &stmt);

	*count = 0;
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(stmt, 1, claimer);
	sqlite3_bind_int64(stmt, 2, device);
	sqlite3_bind_int64(stmt, 3, since);
	rc = bridge_sql_step_one(stmt, &found);
	if (rc == SQLITE_OK && found)
		*count = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc;
}

int bridge_store_note_claim(struct bridge_store *s, const char *claimer,
                            long long device, long long now,
                            long long forget_before)
{
	sqlite3_stmt *add, *prune;
	int rc = bridge_sql_statement(s, add_claim_sql, &add);

	if (rc == SQLITE_OK)
		rc = bridge_sql_statement(s, prune_claims_sql, &prune);
	if (rc != SQLITE_OK)
		return rc;
	bridge_sql_bind_text(add, 1, claimer);
	sqlite3_bind_int64(add, 2, device);
	sqlite3_bind_int64(add, 3, now);
	rc = bridge_sql_run(add);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(prune, 1, forget_before);
	return bridge_sql_run(prune);
}
