/*
 * The key directory against a real SQLite file: bundles are taken only
 * from their own user's own device and only when their signature
 * verifies; a new identity key replaces the old one and drops what the
 * old one signed; device lists need the stored key and a newer version;
 * changes are announced for the keys topic; get_keys shows what anyone
 * may encrypt to; prekeys are capped and handed out once.
 */
#include "bridge/announce.h"
#include "bridge/commit.h"
#include "bridge/request.h"
#include "bridge/store.h"
#include "db.h"
#include "token.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
	struct bridge_store *store;
	struct chat_options opts;
	struct bridge_entries announced;
};

/* An identity key pair, the public half also in base64. */
struct identity {
	unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
	unsigned char secret_key[crypto_sign_SECRETKEYBYTES];
	char text[64];
};

static void exec_sql(sqlite3 *db, const char *fmt, ...)
{
	char sql[2048], *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static long long query_int(sqlite3 *db, const char *fmt, ...)
{
	char sql[1024];
	sqlite3_stmt *stmt;
	long long v = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* alice has devices 1 and 2, bob device 3. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_int_equal(chat_crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_keys_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal",
	                              5000, &f->db, err, sizeof(err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(f->db, err, sizeof(err)), SQLITE_OK);
	exec_sql(f->db, "INSERT INTO users (id, created_at) VALUES"
	                " ('alice', 0), ('bob', 0), ('carol', 0);"
	                "INSERT INTO devices (id, user_id, token_hash,"
	                " created_at) VALUES (1, 'alice', x'01', 0),"
	                " (2, 'alice', x'02', 0), (3, 'bob', x'03', 0)");
	assert_int_equal(bridge_store_open(f->db, &f->store), SQLITE_OK);
	chat_options_defaults(&f->opts);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char file[160];

	bridge_entries_clear(&f->announced);
	bridge_store_close(f->store);
	sqlite3_close(f->db);
	unlink(f->path);
	snprintf(file, sizeof(file), "%s-wal", f->path);
	unlink(file);
	snprintf(file, sizeof(file), "%s-shm", f->path);
	unlink(file);
	rmdir(f->dir);
	free(f);
	return 0;
}

static cJSON *ask(struct fixture *f, const char *user, long long device,
                  const char *fmt, ...)
{
	struct bridge_request_context ctx = {f->store, &f->opts, NULL};
	struct bridge_request request;
	struct json_writer out;
	static char text[160000];
	const char *newline;
	cJSON *response;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&request, 0, sizeof(request));
	snprintf(request.user, sizeof(request.user), "%s", user);
	request.client = "c";
	request.device = device;
	request.req = cJSON_Parse(text);
	assert_non_null(request.req);
	bridge_entries_clear(&f->announced);
	json_writer_init(&out);
	assert_int_equal(
	    bridge_request_answer(&ctx, &request, &out, &f->announced), 0);
	newline = memchr(out.data, '\n', out.len);
	assert_non_null(newline);
	response = cJSON_Parse(newline + 1);
	assert_non_null(response);
	json_writer_free(&out);
	cJSON_Delete(request.req);
	return response;
}

static const char *text(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsString(item));
	return item->valuestring;
}

static long long number(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsNumber(item));
	return (long long)item->valuedouble;
}

static bool flag(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsBool(item));
	return cJSON_IsTrue(item);
}

static void expect_ok(cJSON *r)
{
	if (!flag(r, "ok")) {
		char *p = cJSON_PrintUnformatted(r);

		fail_msg("not ok: %s", p);
	}
	cJSON_Delete(r);
}

static void assert_error(cJSON *r, const char *code)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(r, "error");

	if (flag(r, "ok")) {
		char *p = cJSON_PrintUnformatted(r);

		fail_msg("not refused: %s", p);
	}
	assert_string_equal(text(error, "code"), code);
	cJSON_Delete(r);
}

static void base64(const unsigned char *bin, size_t len, char *out,
                   size_t outlen)
{
	sodium_bin2base64(out, outlen, bin, len,
	                  sodium_base64_VARIANT_ORIGINAL);
}

static void make_identity(struct identity *id)
{
	crypto_sign_keypair(id->public_key, id->secret_key);
	base64(id->public_key, sizeof(id->public_key), id->text,
	       sizeof(id->text));
}

/* Signs text with id into sig (base64). */
static void sign(const struct identity *id, const char *text, char *sig,
                 size_t siglen)
{
	unsigned char raw[crypto_sign_BYTES];

	crypto_sign_detached(raw, NULL, (const unsigned char *)text,
	                     strlen(text), id->secret_key);
	base64(raw, sizeof(raw), sig, siglen);
}

/*
 * A bundle of user's device signed by id, as JSON text into out; the
 * signed created is signed_created, the one written created (they differ
 * for a tampered bundle).
 */
static const char *bundle(const struct identity *id, const char *user,
                          const char *device, long long created,
                          long long signed_created, char *out, size_t outlen)
{
	unsigned char device_public[crypto_box_PUBLICKEYBYTES];
	unsigned char device_secret[crypto_box_SECRETKEYBYTES];
	char key[64], signed_text[512], sig[128];

	crypto_box_keypair(device_public, device_secret);
	base64(device_public, sizeof(device_public), key, sizeof(key));
	snprintf(signed_text, sizeof(signed_text),
	         "chat-bundle-v1\n%s\n%s\n%s\n%lld", user, device, key,
	         signed_created);
	sign(id, signed_text, sig, sizeof(sig));
	snprintf(out, outlen,
	         "{\"user\":\"%s\",\"device\":\"%s\",\"key\":\"%s\","
	         "\"identity\":\"%s\",\"created\":%lld,\"sig\":\"%s\"}",
	         user, device, key, id->text, created, sig);
	return out;
}

/* A device list of user signed by id; devices as "1,2". */
static const char *device_list(const struct identity *id, const char *user,
                               long long version, const char *devices,
                               char *out, size_t outlen)
{
	char signed_text[512], sig[128], quoted[256] = "";
	size_t used = 0;
	char copy[128], *save = NULL;

	snprintf(signed_text, sizeof(signed_text),
	         "chat-devices-v1\n%s\n%lld\n%s", user, version, devices);
	sign(id, signed_text, sig, sizeof(sig));
	snprintf(copy, sizeof(copy), "%s", devices);
	for (char *d = strtok_r(copy, ",", &save); d != NULL;
	     d = strtok_r(NULL, ",", &save))
		used += (size_t)snprintf(quoted + used, sizeof(quoted) - used,
		                         "%s\"%s\"", used ? "," : "", d);
	snprintf(out, outlen,
	         "{\"user\":\"%s\",\"devices\":[%s],\"version\":%lld,"
	         "\"identity\":\"%s\",\"sig\":\"%s\"}",
	         user, quoted, version, id->text, sig);
	return out;
}

static cJSON *publish_bundle(struct fixture *f, const char *user,
                             long long device, const char *bundle_json)
{
	return ask(f, user, device,
	           "{\"id\":\"b\",\"op\":\"publish_bundle\",\"bundle\":%s}",
	           bundle_json);
}

static cJSON *publish_devices(struct fixture *f, const char *user,
                              const char *list_json)
{
	return ask(f, user, 1,
	           "{\"id\":\"l\",\"op\":\"publish_devices\",\"list\":%s}",
	           list_json);
}

/* get_keys for one user: its entry, or NULL when it is left out. The
 * caller frees *response. */
static const cJSON *keys_of(struct fixture *f, const char *user,
                            cJSON **response)
{
	const cJSON *keys;

	*response =
	    ask(f, "carol", 0,
	        "{\"id\":\"k\",\"op\":\"get_keys\",\"users\":[\"%s\"]}", user);
	assert_true(flag(*response, "ok"));
	keys = cJSON_GetObjectItemCaseSensitive(*response, "keys");
	assert_true(cJSON_IsArray(keys));
	assert_true(cJSON_GetArraySize(keys) <= 1);
	return cJSON_GetArrayItem(keys, 0);
}

/* The devices of an entry's bundles, as "1,2". */
static const char *bundle_devices(const cJSON *entry, char *out, size_t outlen)
{
	const cJSON *b;
	size_t used = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(b,
	                   cJSON_GetObjectItemCaseSensitive(entry, "bundles"))
	{
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		                         used ? "," : "", text(b, "device"));
	}
	return out;
}

/* The only announced entry must be alice's keys change with identity and
 * version. */
static void assert_keys_announced(struct fixture *f, const char *identity,
                                  long long version)
{
	struct json_writer w;
	const cJSON *keys;
	cJSON *entry;

	assert_int_equal(f->announced.count, 1);
	json_writer_init(&w);
	bridge_announce_entry(&w, &f->announced.items[0]);
	entry = cJSON_Parse(w.data);
	json_writer_free(&w);
	assert_non_null(entry);
	assert_string_equal(text(entry, "user"), "alice");
	keys = cJSON_GetObjectItemCaseSensitive(entry, "keys");
	assert_string_equal(text(keys, "user"), "alice");
	assert_string_equal(text(keys, "identity"), identity);
	assert_int_equal(number(keys, "version"), version);
	assert_true(number(keys, "updated") > 1700000000000LL);
	assert_int_equal(cJSON_GetArraySize(keys), 4);
	cJSON_Delete(entry);
}

/* ---- bundles ---- */

static void test_bundle_is_stored_and_the_new_identity_announced(void **state)
{
	struct fixture *f = *state;
	struct identity a;
	char json[1024], devices[64];
	const cJSON *entry, *b;
	cJSON *r;

	make_identity(&a);
	expect_ok(publish_bundle(
	    f, "alice", 1, bundle(&a, "alice", "1", 5, 5, json, sizeof(json))));
	assert_keys_announced(f, a.text, 0);

	/* The second device, same identity: nothing to announce. */
	expect_ok(publish_bundle(
	    f, "alice", 2, bundle(&a, "alice", "2", 6, 6, json, sizeof(json))));
	assert_int_equal(f->announced.count, 0);

	entry = keys_of(f, "alice", &r);
	assert_non_null(entry);
	assert_string_equal(text(entry, "identity"), a.text);
	assert_true(
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(entry, "devices")));
	assert_string_equal(bundle_devices(entry, devices, sizeof(devices)),
	                    "1,2");
	/* A bundle comes back exactly as signed: it still verifies. */
	b = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(entry, "bundles"), 1);
	assert_string_equal(text(b, "user"), "alice");
	assert_string_equal(text(b, "identity"), a.text);
	assert_int_equal(number(b, "created"), 6);
	{
		unsigned char sig[crypto_sign_BYTES];
		char signed_text[256];

		snprintf(signed_text, sizeof(signed_text),
		         "chat-bundle-v1\nalice\n2\n%s\n6", text(b, "key"));
		assert_int_equal(
		    sodium_base642bin(sig, sizeof(sig), text(b, "sig"),
		                      strlen(text(b, "sig")), NULL, NULL, NULL,
		                      sodium_base64_VARIANT_ORIGINAL),
		    0);
		assert_int_equal(crypto_sign_verify_detached(
		                     sig, (const unsigned char *)signed_text,
		                     strlen(signed_text), a.public_key),
		                 0);
	}
	cJSON_Delete(r);

	/* Republishing a device's bundle replaces it. */
	expect_ok(publish_bundle(
	    f, "alice", 1, bundle(&a, "alice", "1", 9, 9, json, sizeof(json))));
	assert_int_equal(query_int(f->db, "SELECT created FROM device_bundles"
	                                  " WHERE device_id = 1"),
	                 9);
	assert_int_equal(
	    query_int(f->db, "SELECT COUNT(*) FROM device_bundles"), 2);
}

static void test_tampered_bundle_is_refused(void **state)
{
	struct fixture *f = *state;
	struct identity a, other;
	char json[1024];

	make_identity(&a);
	make_identity(&other);
	/* created changed after signing */
	assert_error(
	    publish_bundle(f, "alice", 1,
	                   bundle(&a, "alice", "1", 6, 5, json, sizeof(json))),
	    "bad_signature");
	/* signed by another key than the identity it names */
	bundle(&other, "alice", "1", 5, 5, json, sizeof(json));
	{
		char *at = strstr(json, other.text);

		memcpy(at, a.text, strlen(a.text));
	}
	assert_error(publish_bundle(f, "alice", 1, json), "bad_signature");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM identity_keys"),
	                 0);
	assert_int_equal(
	    query_int(f->db, "SELECT COUNT(*) FROM device_bundles"), 0);
	assert_int_equal(f->announced.count, 0);

	assert_error(publish_bundle(f, "alice", 1, "{\"user\":\"alice\"}"),
	             "bad_request");
	assert_error(publish_bundle(f, "alice", 1, "\"x\""), "bad_request");
}

static void test_bundle_of_another_user_or_device_is_forbidden(void **state)
{
	struct fixture *f = *state;
	struct identity a;
	char json[1024];

	make_identity(&a);
	assert_error(
	    publish_bundle(f, "alice", 1,
	                   bundle(&a, "bob", "1", 5, 5, json, sizeof(json))),
	    "forbidden");
	assert_error(
	    publish_bundle(f, "alice", 1,
	                   bundle(&a, "alice", "2", 5, 5, json, sizeof(json))),
	    "forbidden");
	assert_error(
	    publish_bundle(f, "alice", 0,
	                   bundle(&a, "alice", "0", 5, 5, json, sizeof(json))),
	    "forbidden");
	assert_int_equal(
	    query_int(f->db, "SELECT COUNT(*) FROM device_bundles"), 0);
}

static void test_new_identity_drops_what_the_old_one_signed(void **state)
{
	struct fixture *f = *state;
	struct identity a, reinstalled;
	char json[1024], devices[64];
	const cJSON *entry;
	cJSON *r;

	make_identity(&a);
	make_identity(&reinstalled);
	expect_ok(publish_bundle(
	    f, "alice", 1, bundle(&a, "alice", "1", 5, 5, json, sizeof(json))));
	expect_ok(publish_bundle(
	    f, "alice", 2, bundle(&a, "alice", "2", 5, 5, json, sizeof(json))));
	expect_ok(publish_devices(
	    f, "alice",
	    device_list(&a, "alice", 3, "1,2", json, sizeof(json))));

	expect_ok(publish_bundle(
	    f, "alice", 1,
	    bundle(&reinstalled, "alice", "1", 8, 8, json, sizeof(json))));
	assert_keys_announced(f, reinstalled.text, 0);
	entry = keys_of(f, "alice", &r);
	assert_string_equal(text(entry, "identity"), reinstalled.text);
	assert_true(
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(entry, "devices")));
	assert_string_equal(bundle_devices(entry, devices, sizeof(devices)),
	                    "1");
	cJSON_Delete(r);

	/* The new key starts its device lists afresh. */
	expect_ok(publish_devices(
	    f, "alice",
	    device_list(&reinstalled, "alice", 1, "1", json, sizeof(json))));
	/* The old key signs nothing any more. */
	assert_error(publish_devices(f, "alice",
	                             device_list(&a, "alice", 9, "1,2", json,
	                                         sizeof(json))),
	             "bad_signature");
}

/* ---- device lists ---- */

static void test_device_list_rules(void **state)
{
	struct fixture *f = *state;
	struct identity a, other;
	char json[1024], list[1024], buf[1024];
	const cJSON *entry;
	cJSON *r;

	make_identity(&a);
	make_identity(&other);
	/* No identity key yet: nothing to verify with. */
	assert_error(publish_devices(
	                 f, "alice",
	                 device_list(&a, "alice", 1, "1", json, sizeof(json))),
	             "bad_signature");
	expect_ok(publish_bundle(
	    f, "alice", 1, bundle(&a, "alice", "1", 5, 5, json, sizeof(json))));
	assert_error(publish_devices(f, "alice",
	                             device_list(&other, "alice", 1, "1", json,
	                                         sizeof(json))),
	             "bad_signature");
	assert_error(
	    publish_devices(f, "alice",
	                    device_list(&a, "bob", 1, "1", json, sizeof(json))),
	    "forbidden");
	assert_error(publish_devices(f, "alice",
	                             device_list(&a, "alice", 1, "1,1", json,
	                                         sizeof(json))),
	             "bad_request");

	device_list(&a, "alice", 2, "1,2", list, sizeof(list));
	r = publish_devices(f, "alice", list);
	assert_int_equal(number(r, "version"), 2);
	expect_ok(r);
	assert_keys_announced(f, a.text, 2);
	assert_error(publish_devices(
	                 f, "alice",
	                 device_list(&a, "alice", 2, "1", json, sizeof(json))),
	             "stale");
	assert_error(publish_devices(
	                 f, "alice",
	                 device_list(&a, "alice", 1, "1", json, sizeof(json))),
	             "stale");
	assert_int_equal(f->announced.count, 0);

	/* get_keys shows the list exactly as it was signed. */
	entry = keys_of(f, "alice", &r);
	{
		char *p = cJSON_PrintUnformatted(
		    cJSON_GetObjectItemCaseSensitive(entry, "devices"));

		snprintf(buf, sizeof(buf), "%s", p);
		free(p);
	}
	assert_string_equal(buf, list);
	cJSON_Delete(r);

	expect_ok(publish_devices(
	    f, "alice", device_list(&a, "alice", 7, "2", json, sizeof(json))));
	assert_keys_announced(f, a.text, 7);
}

/* ---- get_keys ---- */

static void test_get_keys_shows_what_one_may_encrypt_to(void **state)
{
	struct fixture *f = *state;
	struct identity a;
	char json[1024], devices[64], many[1024];
	const cJSON *entry;
	size_t used;
	cJSON *r;

	make_identity(&a);
	expect_ok(publish_bundle(
	    f, "alice", 1, bundle(&a, "alice", "1", 5, 5, json, sizeof(json))));
	expect_ok(publish_bundle(
	    f, "alice", 2, bundle(&a, "alice", "2", 5, 5, json, sizeof(json))));
	/* A revoked device has no key anyone should use. */
	exec_sql(f->db, "UPDATE devices SET revoked_at = 1 WHERE id = 2");
	entry = keys_of(f, "alice", &r);
	assert_string_equal(bundle_devices(entry, devices, sizeof(devices)),
	                    "1");
	cJSON_Delete(r);

	/* Users who published nothing are left out. */
	r = ask(f, "carol", 0,
	        "{\"id\":\"k\",\"op\":\"get_keys\",\"users\":[\"bob\","
	        "\"nobody\",\"alice\"]}");
	assert_true(flag(r, "ok"));
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "keys")), 1);
	cJSON_Delete(r);

	used = (size_t)snprintf(many, sizeof(many), "[");
	for (int i = 0; i < 51; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used,
		                         "%s\"u%d\"", i ? "," : "", i);
	snprintf(many + used, sizeof(many) - used, "]");
	assert_error(ask(f, "carol", 0,
	                 "{\"id\":\"k\",\"op\":\"get_keys\",\"users\":%s}",
	                 many),
	             "bad_request");
}

/* ---- prekeys ---- */

/* Uploads count prekeys from alice's device 1, ids from first on. */
static cJSON *upload_prekeys(struct fixture *f, long long device, int first,
                             int count)
{
	static char list[16384];
	unsigned char key[crypto_box_PUBLICKEYBYTES];
	char text64[64];
	size_t used = 0;

	list[0] = '\0';
	for (int i = 0; i < count; i++) {
		randombytes_buf(key, sizeof(key));
		base64(key, sizeof(key), text64, sizeof(text64));
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		                         "%s{\"id\":%d,\"key\":\"%s\"}",
		                         i ? "," : "", first + i, text64);
	}
	return ask(f, "alice", device,
	           "{\"id\":\"u\",\"op\":\"upload_prekeys\",\"prekeys\":[%s]}",
	           list);
}

static cJSON *claim(struct fixture *f, const char *user, const char *device)
{
	return ask(f, "bob", 3,
	           "{\"id\":\"c\",\"op\":\"claim_prekey\",\"user\":\"%s\","
	           "\"device\":\"%s\"}",
	           user, device);
}

static void test_prekeys_are_handed_out_once(void **state)
{
	struct fixture *f = *state;
	char seen[64] = "";
	cJSON *r;

	r = ask(f, "alice", 1,
	        "{\"id\":\"u\",\"op\":\"upload_prekeys\",\"prekeys\":["
	        "{\"id\":7,\"key\":"
	        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},"
	        "{\"id\":\"k8\",\"key\":"
	        "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}]}");
	assert_int_equal(number(r, "count"), 2);
	expect_ok(r);
	r = ask(f, "alice", 1, "{\"id\":\"n\",\"op\":\"prekey_count\"}");
	assert_int_equal(number(r, "count"), 2);
	expect_ok(r);
	/* Another device of alice has none. */
	r = ask(f, "alice", 2, "{\"id\":\"n\",\"op\":\"prekey_count\"}");
	assert_int_equal(number(r, "count"), 0);
	expect_ok(r);

	/* Claims for the wrong user, or an unknown device, get nothing. */
	r = claim(f, "bob", "1");
	assert_true(
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "prekey")));
	expect_ok(r);

	for (int i = 0; i < 2; i++) {
		const cJSON *prekey, *id;

		r = claim(f, "alice", "1");
		prekey = cJSON_GetObjectItemCaseSensitive(r, "prekey");
		id = cJSON_GetObjectItemCaseSensitive(prekey, "id");
		/* Ids come back as they were given. */
		if (cJSON_IsNumber(id)) {
			assert_int_equal((int)id->valuedouble, 7);
			assert_string_equal(
			    text(prekey, "key"),
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
			strcat(seen, "7");
		} else {
			assert_string_equal(id->valuestring, "k8");
			assert_string_equal(
			    text(prekey, "key"),
			    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=");
			strcat(seen, "k8");
		}
		expect_ok(r);
	}
	assert_true(strcmp(seen, "7k8") == 0 || strcmp(seen, "k87") == 0);
	r = claim(f, "alice", "1");
	assert_true(
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "prekey")));
	expect_ok(r);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM prekeys"), 0);
}

static void test_prekeys_of_a_revoked_device_are_not_handed_out(void **state)
{
	struct fixture *f = *state;
	cJSON *r;

	expect_ok(upload_prekeys(f, 2, 1, 3));
	exec_sql(f->db, "UPDATE devices SET revoked_at = 1 WHERE id = 2");
	r = claim(f, "alice", "2");
	assert_true(
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "prekey")));
	expect_ok(r);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM prekeys"), 3);
}

/* Nobody can empty another user's supply: three a day per claimer. */
static void test_one_user_takes_only_a_few_prekeys_a_day(void **state)
{
	struct fixture *f = *state;
	cJSON *r;

	expect_ok(upload_prekeys(f, 1, 1, 10));
	for (int i = 0; i < 3; i++) {
		r = claim(f, "alice", "1");
		assert_true(cJSON_IsObject(
		    cJSON_GetObjectItemCaseSensitive(r, "prekey")));
		expect_ok(r);
	}
	assert_error(claim(f, "alice", "1"), "rate_limited");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM prekeys"), 7);
	/* Another claimer has an allowance of its own. */
	r = ask(f, "carol", 0,
	        "{\"id\":\"c\",\"op\":\"claim_prekey\",\"user\":\"alice\","
	        "\"device\":\"1\"}");
	assert_true(
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "prekey")));
	expect_ok(r);
	/* A day later bob may take more, and old claims are forgotten. */
	exec_sql(f->db, "UPDATE prekey_claims SET claimed_at = claimed_at - "
	                "86400001 WHERE claimer = 'bob'");
	r = claim(f, "alice", "1");
	assert_true(
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "prekey")));
	expect_ok(r);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM prekey_claims"
	                                  " WHERE claimer = 'bob'"),
	                 1);
}

static void test_prekeys_are_capped_per_device(void **state)
{
	struct fixture *f = *state;
	cJSON *r;

	for (int i = 0; i < 10; i++)
		expect_ok(upload_prekeys(f, 1, i * 100, 100));
	r = upload_prekeys(f, 1, 1000, 100);
	assert_int_equal(number(r, "count"), 1000);
	expect_ok(r);
	/* A known id only gets a new key. */
	r = upload_prekeys(f, 1, 0, 5);
	assert_int_equal(number(r, "count"), 1000);
	expect_ok(r);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM prekeys"
	                                  " WHERE device_id = 1"),
	                 1000);
	assert_int_equal(query_int(f->db, "SELECT MAX(prekey_id) FROM prekeys"),
	                 999);

	assert_error(upload_prekeys(f, 1, 0, 101), "bad_request");
}

static void test_prekey_requests_need_a_device_and_good_keys(void **state)
{
	struct fixture *f = *state;

	assert_error(upload_prekeys(f, 0, 1, 1), "bad_request");
	assert_error(
	    ask(f, "alice", 0, "{\"id\":\"n\",\"op\":\"prekey_count\"}"),
	    "bad_request");
	assert_error(ask(f, "alice", 1,
	                 "{\"id\":\"u\",\"op\":\"upload_prekeys\",\"prekeys\":"
	                 "[{\"id\":1,\"key\":\"AAAA\"}]}"),
	             "bad_request");
	assert_error(ask(f, "alice", 1,
	                 "{\"id\":\"u\",\"op\":\"upload_prekeys\",\"prekeys\":"
	                 "[{\"id\":-1,\"key\":"
	                 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]}"),
	             "bad_request");
	assert_error(ask(f, "bob", 3,
	                 "{\"id\":\"c\",\"op\":\"claim_prekey\",\"user\":"
	                 "\"alice\",\"device\":\"one\"}"),
	             "bad_request");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM prekeys"), 0);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_bundle_is_stored_and_the_new_identity_announced),
	    TEST(test_tampered_bundle_is_refused),
	    TEST(test_bundle_of_another_user_or_device_is_forbidden),
	    TEST(test_new_identity_drops_what_the_old_one_signed),
	    TEST(test_device_list_rules),
	    TEST(test_get_keys_shows_what_one_may_encrypt_to),
	    TEST(test_prekeys_are_handed_out_once),
	    TEST(test_prekeys_of_a_revoked_device_are_not_handed_out),
	    TEST(test_prekeys_are_capped_per_device),
	    TEST(test_one_user_takes_only_a_few_prekeys_a_day),
	    TEST(test_prekey_requests_need_a_device_and_good_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
