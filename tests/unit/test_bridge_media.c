/*
 * Encrypted files against a real SQLite file and a real blobs folder:
 * uploads are begun by members within limits and quota, chunks are taken
 * in order only (and an upload resumes where the folder says it got),
 * blob_end stores a file under its hash when size and hash match, the same
 * file is stored once, only current members of a conversation it was
 * uploaded for may download it, messages keep the files they name, and
 * the retention sweep deletes the rest.
 */
#include "bridge/announce.h"
#include "bridge/commit.h"
#include "bridge/handoff.h"
#include "bridge/media.h"
#include "bridge/request.h"
#include "bridge/retention.h"
#include "bridge/store.h"
#include "bridge/upload.h"
#include "db.h"
#include "token.h"

#include <cjson/cJSON.h>
#include <ftw.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define CHUNK BRIDGE_CHUNK_BYTES
/* Two whole chunks and a short last one. */
#define FILE_SIZE (2 * CHUNK + 90000)

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
	struct bridge_store *store;
	struct bridge_media media;
	struct chat_options opts;
	struct bridge_entries announced;
	unsigned char *file; /* FILE_SIZE random bytes, and some more */
	uint64_t next_id;
};

/* The hash of some bytes, in base64 and in hex. */
struct digest {
	char base64[64];
	char hex[BRIDGE_BLOB_ID_LEN + 1];
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

/* alice and bob share "team", alice and carol "side". */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_int_equal(chat_crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_media_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal",
	                              5000, &f->db, err, sizeof(err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(f->db, err, sizeof(err)), SQLITE_OK);
	exec_sql(f->db,
	         "INSERT INTO users (id, created_at) VALUES ('alice', 0),"
	         " ('bob', 0), ('carol', 0);"
	         "INSERT INTO conversations (id, kind, title, created_at)"
	         " VALUES ('team', 'group', 'Team', 0),"
	         " ('side', 'group', 'Side', 0);"
	         "INSERT INTO members (convo_id, user_id) VALUES"
	         " ('team', 'alice'), ('team', 'bob'), ('side', 'alice'),"
	         " ('side', 'carol')");
	assert_int_equal(bridge_store_open(f->db, &f->store), SQLITE_OK);
	assert_int_equal(bridge_media_open(&f->media, f->path), 0);
	chat_options_defaults(&f->opts);
	/* A chunk of slack: some tests send one byte too many. */
	f->file = malloc(FILE_SIZE + CHUNK);
	randombytes_buf(f->file, FILE_SIZE + CHUNK);
	f->next_id = 7404551231553458176ULL;
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bridge_entries_clear(&f->announced);
	bridge_store_close(f->store);
	sqlite3_close(f->db);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->file);
	free(f);
	return 0;
}

static void digest_of(const unsigned char *bytes, size_t len, struct digest *d)
{
	unsigned char hash[32];

	crypto_generichash(hash, sizeof(hash), bytes, len, NULL, 0);
	sodium_bin2base64(d->base64, sizeof(d->base64), hash, sizeof(hash),
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2hex(d->hex, sizeof(d->hex), hash, sizeof(hash));
}

/* The whole reply to a request of user: header line and body. */
static void answer(struct fixture *f, const char *user, struct json_writer *out,
                   const char *fmt, va_list ap)
{
	struct bridge_request_context ctx = {f->store, &f->opts, &f->media};
	struct bridge_request request;
	char text[4096];

	vsnprintf(text, sizeof(text), fmt, ap);
	memset(&request, 0, sizeof(request));
	snprintf(request.user, sizeof(request.user), "%s", user);
	request.client = "laptop";
	request.device = 1;
	request.req = cJSON_Parse(text);
	assert_non_null(request.req);
	bridge_entries_clear(&f->announced);
	json_writer_init(out);
	assert_int_equal(
	    bridge_request_answer(&ctx, &request, out, &f->announced), 0);
	cJSON_Delete(request.req);
}

/* A JSON response, its header checked to route it to resp. */
static cJSON *ask(struct fixture *f, const char *user, const char *fmt, ...)
{
	struct json_writer out;
	char header[128];
	const char *newline;
	cJSON *response;
	va_list ap;

	va_start(ap, fmt);
	answer(f, user, &out, fmt, ap);
	va_end(ap);
	newline = memchr(out.data, '\n', out.len);
	assert_non_null(newline);
	snprintf(header, sizeof(header),
	         "{\"user\":\"%s\",\"client\":\"laptop\"}", user);
	assert_int_equal((size_t)(newline - out.data), strlen(header));
	assert_memory_equal(out.data, header, strlen(header));
	response = cJSON_Parse(newline + 1);
	assert_non_null(response);
	json_writer_free(&out);
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

static void assert_ok(const cJSON *r)
{
	if (!flag(r, "ok")) {
		char *p = cJSON_PrintUnformatted(r);

		fail_msg("not ok: %s", p);
	}
}

static void expect_ok(cJSON *r)
{
	assert_ok(r);
	cJSON_Delete(r);
}

static const char *error_code(const cJSON *r)
{
	assert_false(flag(r, "ok"));
	return text(cJSON_GetObjectItemCaseSensitive(r, "error"), "code");
}

static void assert_error(cJSON *r, const char *code)
{
	assert_string_equal(error_code(r), code);
	cJSON_Delete(r);
}

/* Begins an upload of size bytes hashed hash_b64; writes its id. */
static cJSON *begin(struct fixture *f, const char *user, const char *convo,
                    long long size, const char *hash_b64)
{
	return ask(f, user,
	           "{\"id\":\"b\",\"op\":\"blob_begin\",\"convo\":\"%s\","
	           "\"size\":%lld,\"hash\":\"%s\",\"type\":\"image/png\"}",
	           convo, size, hash_b64);
}

static void begin_ok(struct fixture *f, const char *user, const char *convo,
                     long long size, const char *hash_b64, char id[65])
{
	cJSON *r = begin(f, user, convo, size, hash_b64);

	assert_ok(r);
	assert_int_equal(number(r, "chunk_size"), CHUNK);
	assert_int_equal(number(r, "received"), 0);
	snprintf(id, 65, "%s", text(r, "upload"));
	assert_int_equal(strncmp(id, "u_", 2), 0);
	cJSON_Delete(r);
}

/* Hands a chunk over as the plugin does and returns the acknowledgement,
 * its header checked. */
static cJSON *send_chunk(struct fixture *f, const char *user,
                         const char *upload, long long index,
                         const unsigned char *bytes, size_t len)
{
	struct bridge_request_context ctx = {f->store, &f->opts, &f->media};
	struct bridge_chunk_queue q = {NULL, 0, 0};
	struct json_writer out;
	char header[256], expected[128];
	unsigned char *payload;
	int n = snprintf(header, sizeof(header),
	                 "{\"user\":\"%s\",\"client\":\"laptop\","
	                 "\"device\":\"1\",\"upload\":\"%s\",\"index\":%lld}"
	                 "\n",
	                 user, upload, index);
	const char *newline;
	cJSON *ack;

	payload = malloc((size_t)n + len);
	memcpy(payload, header, (size_t)n);
	memcpy(payload + n, bytes, len);
	assert_int_equal(
	    bridge_handoff_chunk((const char *)payload, (size_t)n + len, &q),
	    1);
	free(payload);
	assert_int_equal(q.chunks[0].len, len);
	json_writer_init(&out);
	assert_int_equal(bridge_upload_receive(&ctx, &q.chunks[0], &out), 0);
	bridge_chunk_queue_clear(&q);
	newline = memchr(out.data, '\n', out.len);
	assert_non_null(newline);
	snprintf(expected, sizeof(expected),
	         "{\"user\":\"%s\",\"client\":\"laptop\"}", user);
	assert_memory_equal(out.data, expected, strlen(expected));
	ack = cJSON_Parse(newline + 1);
	assert_non_null(ack);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ack, "id")));
	assert_string_equal(text(ack, "op"), "upload");
	assert_string_equal(text(ack, "upload"), upload);
	assert_int_equal(number(ack, "index"), index);
	json_writer_free(&out);
	return ack;
}

/* Chunk index of the fixture's file, of a file of size bytes. */
static cJSON *send_part(struct fixture *f, const char *user, const char *upload,
                        long long index, long long size)
{
	long long offset = index * CHUNK;
	long long len = size - offset < CHUNK ? size - offset : CHUNK;

	return send_chunk(f, user, upload, index, f->file + offset,
	                  (size_t)len);
}

static void send_part_ok(struct fixture *f, const char *user,
                         const char *upload, long long index, long long size)
{
	cJSON *ack = send_part(f, user, upload, index, size);

	assert_ok(ack);
	assert_int_equal(number(ack, "received"), index + 1);
	cJSON_Delete(ack);
}

static cJSON *end(struct fixture *f, const char *user, const char *upload)
{
	return ask(f, user,
	           "{\"id\":\"e\",\"op\":\"blob_end\",\"upload\":"
	           "\"%s\"}",
	           upload);
}

static long long status(struct fixture *f, const char *user, const char *upload)
{
	cJSON *r = ask(f, user,
	               "{\"id\":\"s\",\"op\":\"blob_status\",\"upload\":"
	               "\"%s\"}",
	               upload);
	long long received;

	assert_ok(r);
	received = number(r, "received");
	cJSON_Delete(r);
	return received;
}

/* Uploads the first size bytes of the fixture's file for convo. */
static void upload_file(struct fixture *f, const char *user, const char *convo,
                        long long size, struct digest *d)
{
	char upload[65];
	cJSON *r;

	digest_of(f->file, (size_t)size, d);
	begin_ok(f, user, convo, size, d->base64, upload);
	for (long long i = 0; i * CHUNK < size; i++)
		send_part_ok(f, user, upload, i, size);
	r = end(f, user, upload);
	assert_ok(r);
	assert_string_equal(text(r, "blob"), d->hex);
	cJSON_Delete(r);
}

static bool stored(const char *folder, const char *name)
{
	char path[PATH_MAX + 80];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", folder, name);
	return stat(path, &st) == 0;
}

/* ---- uploading ---- */

static void test_upload_in_order_stores_the_file_under_its_hash(void **state)
{
	struct fixture *f = *state;
	char upload[65], path[PATH_MAX + 80];
	unsigned char *copy = malloc(FILE_SIZE + 1);
	struct digest d;
	FILE *file;
	cJSON *r;

	digest_of(f->file, FILE_SIZE, &d);
	begin_ok(f, "alice", "team", FILE_SIZE, d.base64, upload);
	for (int i = 0; i < 3; i++)
		send_part_ok(f, "alice", upload, i, FILE_SIZE);
	assert_int_equal(status(f, "alice", upload), 3);
	r = end(f, "alice", upload);
	assert_ok(r);
	assert_string_equal(text(r, "blob"), d.hex);
	cJSON_Delete(r);

	/* The file, exactly; no partial file left. */
	snprintf(path, sizeof(path), "%s/%s", f->media.blobs, d.hex);
	file = fopen(path, "rb");
	assert_non_null(file);
	assert_int_equal(fread(copy, 1, FILE_SIZE + 1, file), FILE_SIZE);
	fclose(file);
	assert_memory_equal(copy, f->file, FILE_SIZE);
	free(copy);
	assert_false(stored(f->media.partial, upload));
	assert_int_equal(query_int(f->db,
	                           "SELECT COUNT(*) FROM blob_conversations"
	                           " WHERE blob = '%s' AND convo_id = 'team'",
	                           d.hex),
	                 1);

	/* A repeated blob_end answers the same. */
	r = end(f, "alice", upload);
	assert_ok(r);
	assert_string_equal(text(r, "blob"), d.hex);
	cJSON_Delete(r);
	r = ask(f, "alice",
	        "{\"id\":\"s\",\"op\":\"blob_status\",\"upload\":"
	        "\"%s\"}",
	        upload);
	assert_string_equal(text(r, "blob"), d.hex);
	cJSON_Delete(r);
}

static void test_chunks_out_of_order_are_refused(void **state)
{
	struct fixture *f = *state;
	char upload[65];
	struct digest d;
	cJSON *ack;

	digest_of(f->file, FILE_SIZE, &d);
	begin_ok(f, "alice", "team", FILE_SIZE, d.base64, upload);
	ack = send_part(f, "alice", upload, 1, FILE_SIZE);
	assert_string_equal(error_code(ack), "out_of_order");
	assert_int_equal(number(ack, "received"), 0);
	cJSON_Delete(ack);

	send_part_ok(f, "alice", upload, 0, FILE_SIZE);
	/* A retransmit of what is there already, or a skip ahead. */
	ack = send_part(f, "alice", upload, 0, FILE_SIZE);
	assert_string_equal(error_code(ack), "out_of_order");
	assert_int_equal(number(ack, "received"), 1);
	cJSON_Delete(ack);
	ack = send_part(f, "alice", upload, 2, FILE_SIZE);
	assert_string_equal(error_code(ack), "out_of_order");
	assert_int_equal(number(ack, "received"), 1);
	cJSON_Delete(ack);
	/* A chunk but the last is a whole one. */
	ack = send_chunk(f, "alice", upload, 1, f->file + CHUNK, CHUNK - 1);
	assert_string_equal(error_code(ack), "bad_size");
	assert_int_equal(number(ack, "received"), 1);
	cJSON_Delete(ack);
	assert_int_equal(status(f, "alice", upload), 1);

	send_part_ok(f, "alice", upload, 1, FILE_SIZE);
	/* The last one is exactly what remains. */
	ack = send_chunk(f, "alice", upload, 2, f->file + 2 * CHUNK,
	                 FILE_SIZE - 2 * CHUNK + 1);
	assert_string_equal(error_code(ack), "bad_size");
	cJSON_Delete(ack);
	send_part_ok(f, "alice", upload, 2, FILE_SIZE);
	ack = send_chunk(f, "alice", upload, 3, f->file, 10);
	assert_string_equal(error_code(ack), "out_of_order");
	assert_int_equal(number(ack, "received"), 3);
	cJSON_Delete(ack);
	expect_ok(end(f, "alice", upload));
}

/* A crash may leave part of a chunk in the file: the count of whole
 * chunks stands, and the next chunk replaces the torn one. */
static void test_upload_resumes_after_a_torn_chunk(void **state)
{
	struct fixture *f = *state;
	char upload[65], path[PATH_MAX + 80];
	struct digest d;
	FILE *file;
	cJSON *r;

	digest_of(f->file, FILE_SIZE, &d);
	begin_ok(f, "alice", "team", FILE_SIZE, d.base64, upload);
	send_part_ok(f, "alice", upload, 0, FILE_SIZE);
	snprintf(path, sizeof(path), "%s/%s", f->media.partial, upload);
	file = fopen(path, "ab");
	assert_non_null(file);
	assert_int_equal(fwrite("torn", 1, 4, file), 4);
	fclose(file);

	assert_int_equal(status(f, "alice", upload), 1);
	send_part_ok(f, "alice", upload, 1, FILE_SIZE);
	send_part_ok(f, "alice", upload, 2, FILE_SIZE);
	r = end(f, "alice", upload);
	assert_ok(r);
	assert_string_equal(text(r, "blob"), d.hex);
	cJSON_Delete(r);
}

static void test_blob_end_checks_size_and_hash(void **state)
{
	struct fixture *f = *state;
	char upload[65];
	struct digest d, wrong;
	cJSON *r;

	digest_of(f->file, FILE_SIZE, &d);
	begin_ok(f, "alice", "team", FILE_SIZE, d.base64, upload);
	send_part_ok(f, "alice", upload, 0, FILE_SIZE);
	r = end(f, "alice", upload);
	assert_string_equal(error_code(r), "bad_size");
	assert_non_null(strstr(
	    text(cJSON_GetObjectItemCaseSensitive(r, "error"), "message"),
	    "received 262144 of"));
	cJSON_Delete(r);
	/* Still there to finish. */
	assert_int_equal(status(f, "alice", upload), 1);

	/* Announced with another hash: the upload cannot become right. */
	digest_of(f->file, 10, &wrong);
	begin_ok(f, "alice", "team", FILE_SIZE, wrong.base64, upload);
	for (int i = 0; i < 3; i++)
		send_part_ok(f, "alice", upload, i, FILE_SIZE);
	assert_error(end(f, "alice", upload), "bad_hash");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"s\",\"op\":\"blob_status\",\"upload\":"
	                 "\"%s\"}",
	                 upload),
	             "no_such_upload");
	assert_false(stored(f->media.partial, upload));
	assert_false(stored(f->media.blobs, d.hex));
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM blobs"), 0);
	/* Only the unfinished upload still counts against the quota. */
	assert_int_equal(query_int(f->db, "SELECT SUM(size) FROM uploads"),
	                 FILE_SIZE);
}

static void test_blob_begin_checks_membership_size_and_quota(void **state)
{
	struct fixture *f = *state;
	/* 100 MiB of plaintext, encrypted: docs/E2E.md. */
	const long long max = BRIDGE_FILE_MAX_BYTES;
	char upload[65];
	struct digest d;

	digest_of(f->file, 10, &d);
	assert_error(begin(f, "carol", "team", 10, d.base64), "not_member");
	assert_error(begin(f, "alice", "nowhere", 10, d.base64), "not_member");
	assert_error(begin(f, "alice", "team", 0, d.base64), "bad_request");
	assert_error(begin(f, "alice", "team", max + 1, d.base64), "too_large");
	assert_error(begin(f, "alice", "team", 10, "AAAA"), "bad_request");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"b\",\"op\":\"blob_begin\",\"convo\":"
	                 "\"team\",\"size\":10,\"hash\":\"%s\",\"type\":7}",
	                 d.base64),
	             "bad_request");

	/* 1 GiB per user: ten of the largest files fit, an eleventh not,
	 * and what is left after them, but not one byte more. */
	for (int i = 0; i < 10; i++)
		begin_ok(f, "alice", "team", max, d.base64, upload);
	assert_error(begin(f, "alice", "team", max, d.base64),
	             "quota_exceeded");
	begin_ok(f, "alice", "team", BRIDGE_QUOTA_BYTES - 10 * max, d.base64,
	         upload);
	assert_error(begin(f, "alice", "team", 1, d.base64), "quota_exceeded");
	/* Another user has a quota of its own. */
	begin_ok(f, "bob", "team", max, d.base64, upload);
}

static void test_every_file_counts_at_least_the_minimum(void **state)
{
	struct fixture *f = *state;
	const long long max = BRIDGE_FILE_MAX_BYTES;
	const long long min = BRIDGE_QUOTA_FILE_MIN_BYTES;
	char upload[65];
	struct digest d;

	digest_of(f->file, 10, &d);
	for (int i = 0; i < 10; i++)
		begin_ok(f, "alice", "team", max, d.base64, upload);
	/* Room left for exactly two small files. */
	begin_ok(f, "alice", "team", BRIDGE_QUOTA_BYTES - 10 * max - 2 * min,
	         d.base64, upload);
	begin_ok(f, "alice", "team", 1, d.base64, upload);
	begin_ok(f, "alice", "team", min, d.base64, upload);
	assert_error(begin(f, "alice", "team", 1, d.base64), "quota_exceeded");
}

static void test_uploads_are_their_users_own(void **state)
{
	struct fixture *f = *state;
	char upload[65];
	struct digest d;
	cJSON *ack;

	digest_of(f->file, FILE_SIZE, &d);
	begin_ok(f, "alice", "team", FILE_SIZE, d.base64, upload);
	ack = send_part(f, "bob", upload, 0, FILE_SIZE);
	assert_string_equal(error_code(ack), "no_such_upload");
	assert_null(cJSON_GetObjectItemCaseSensitive(ack, "received"));
	cJSON_Delete(ack);
	ack = send_part(f, "alice", "u_unknown", 0, FILE_SIZE);
	assert_string_equal(error_code(ack), "no_such_upload");
	cJSON_Delete(ack);
	assert_error(ask(f, "bob",
	                 "{\"id\":\"s\",\"op\":\"blob_status\",\"upload\":"
	                 "\"%s\"}",
	                 upload),
	             "no_such_upload");
	assert_error(end(f, "bob", upload), "no_such_upload");
	assert_int_equal(status(f, "alice", upload), 0);
}

static void test_same_file_is_stored_once(void **state)
{
	struct fixture *f = *state;
	struct digest first, second, third;

	upload_file(f, "alice", "team", FILE_SIZE, &first);
	upload_file(f, "alice", "side", FILE_SIZE, &second);
	upload_file(f, "bob", "team", FILE_SIZE, &third);
	assert_string_equal(first.hex, second.hex);
	assert_string_equal(first.hex, third.hex);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM blobs"), 1);
	assert_int_equal(
	    query_int(f->db, "SELECT COUNT(*) FROM blob_conversations"), 2);
	/* Each user's quota counts it once. */
	assert_int_equal(query_int(f->db, "SELECT SUM(size) FROM uploads"
	                                  " WHERE user_id = 'alice'"),
	                 FILE_SIZE);
	assert_int_equal(query_int(f->db, "SELECT SUM(size) FROM uploads"
	                                  " WHERE user_id = 'bob'"),
	                 FILE_SIZE);
	assert_int_equal(
	    query_int(f->db, "SELECT COUNT(*) FROM uploads WHERE blob IS NULL"),
	    0);
}

/* ---- downloading ---- */

/* Asks for chunk index of blob as user; returns true with the chunk in
 * bytes/len when a chunk came back, false with *refusal set otherwise. */
static bool fetch(struct fixture *f, const char *user, const char *blob,
                  long long index, unsigned char *bytes, size_t *len,
                  long long *chunks, cJSON **refusal)
{
	struct bridge_request_context ctx = {f->store, &f->opts, &f->media};
	struct bridge_request request;
	struct json_writer out;
	const char *first, *second;
	char asked[256], expected[128], id[32];
	cJSON *header;

	*refusal = NULL;
	snprintf(asked, sizeof(asked),
	         "{\"id\":\"g%lld\",\"op\":\"blob_get\",\"blob\":\"%s\","
	         "\"index\":%lld}",
	         index, blob, index);
	memset(&request, 0, sizeof(request));
	snprintf(request.user, sizeof(request.user), "%s", user);
	request.client = "laptop";
	request.device = 1;
	request.req = cJSON_Parse(asked);
	json_writer_init(&out);
	assert_int_equal(bridge_request_answer(&ctx, &request, &out, NULL), 0);
	cJSON_Delete(request.req);
	first = memchr(out.data, '\n', out.len);
	assert_non_null(first);
	snprintf(expected, sizeof(expected),
	         "{\"user\":\"%s\",\"client\":\"laptop\"}\n", user);
	if ((size_t)(first + 1 - out.data) == strlen(expected) &&
	    memcmp(out.data, expected, strlen(expected)) == 0) {
		*refusal = cJSON_Parse(first + 1);
		json_writer_free(&out);
		return false;
	}
	snprintf(expected, sizeof(expected),
	         "{\"user\":\"%s\",\"client\":\"laptop\",\"kind\":\"blob\"}\n",
	         user);
	assert_int_equal((size_t)(first + 1 - out.data), strlen(expected));
	assert_memory_equal(out.data, expected, strlen(expected));
	second =
	    memchr(first + 1, '\n', out.len - (size_t)(first + 1 - out.data));
	assert_non_null(second);
	header = cJSON_ParseWithLength(first + 1, (size_t)(second - first - 1));
	assert_non_null(header);
	assert_int_equal(cJSON_GetArraySize(header), 4);
	snprintf(id, sizeof(id), "g%lld", index);
	assert_string_equal(text(header, "id"), id);
	assert_string_equal(text(header, "blob"), blob);
	assert_int_equal(number(header, "index"), index);
	*chunks = number(header, "chunks");
	cJSON_Delete(header);
	*len = out.len - (size_t)(second + 1 - out.data);
	memcpy(bytes, second + 1, *len);
	json_writer_free(&out);
	return true;
}

static void test_download_needs_a_current_member(void **state)
{
	struct fixture *f = *state;
	unsigned char *bytes = malloc(CHUNK);
	long long chunks = 0;
	struct digest d;
	cJSON *refusal;
	size_t len;
	char first;

	upload_file(f, "alice", "team", FILE_SIZE, &d);
	assert_true(fetch(f, "bob", d.hex, 0, bytes, &len, &chunks, &refusal));
	assert_int_equal(chunks, 3);
	assert_int_equal(len, CHUNK);
	assert_memory_equal(bytes, f->file, CHUNK);
	assert_true(fetch(f, "bob", d.hex, 2, bytes, &len, &chunks, &refusal));
	assert_int_equal(len, FILE_SIZE - 2 * CHUNK);
	assert_memory_equal(bytes, f->file + 2 * CHUNK, len);

	assert_false(fetch(f, "bob", d.hex, 3, bytes, &len, &chunks, &refusal));
	assert_error(refusal, "bad_request");
	/* carol shares "side" with alice, but the file was for "team". */
	assert_false(
	    fetch(f, "carol", d.hex, 0, bytes, &len, &chunks, &refusal));
	assert_error(refusal, "not_member");
	/* A file that does not exist looks the same. */
	first = d.hex[0];
	d.hex[0] = first == 'a' ? 'b' : 'a';
	assert_false(fetch(f, "bob", d.hex, 0, bytes, &len, &chunks, &refusal));
	assert_error(refusal, "not_member");
	d.hex[0] = first;
	assert_true(fetch(f, "bob", d.hex, 0, bytes, &len, &chunks, &refusal));
	/* A member who left reads no more. */
	exec_sql(f->db,
	         "UPDATE members SET left_seq = 1 WHERE user_id = 'bob'");
	assert_false(fetch(f, "bob", d.hex, 0, bytes, &len, &chunks, &refusal));
	assert_error(refusal, "not_member");
	free(bytes);
}

/* ---- attachments and retention ---- */

/* Commits a message of alice in team naming the files (JSON array text),
 * through the hand-off; returns the entries. */
static void send_with_attachments(struct fixture *f, const char *attachments,
                                  struct bridge_entries *entries)
{
	struct bridge_batch batch = {NULL, 0, 0};
	char payload[1024];

	snprintf(payload, sizeof(payload),
	         "[{\"id\":\"%llu\",\"convo\":\"team\",\"from\":\"alice\","
	         "\"ts\":1764770000000,\"cmid\":\"m%llu\",\"body\":\"x\","
	         "\"attachments\":%s,\"client\":\"laptop\"}]",
	         (unsigned long long)f->next_id, (unsigned long long)f->next_id,
	         attachments);
	f->next_id++;
	assert_int_equal(
	    bridge_handoff_messages(payload, strlen(payload), &batch), 1);
	assert_int_equal(bridge_commit(f->store, &batch, entries, NULL, NULL),
	                 BRIDGE_COMMIT_DONE);
	assert_int_equal(entries->items[0].outcome, BRIDGE_STORED);
	bridge_batch_clear(&batch);
}

static void test_attachments_are_stored_and_delivered(void **state)
{
	struct fixture *f = *state;
	struct bridge_entries entries;
	struct bridge_batch batch = {NULL, 0, 0};
	const char *a =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa";
	char list[256], expected[512];
	struct json_writer w;
	const cJSON *m;
	cJSON *r;

	snprintf(list, sizeof(list), "[\"%s\",\"%s\"]", a, a);
	send_with_attachments(f, list, &entries);
	json_writer_init(&w);
	bridge_announce_entry(&w, &entries.items[0]);
	snprintf(expected, sizeof(expected),
	         ",\"body\":\"x\",\"attachments\":"
	         "%s}}",
	         list);
	assert_non_null(strstr(w.data, expected));
	/* convo and seq stay first: the plugin reads the seq there. */
	{
		const char *start = "{\"msg\":{\"convo\":\"team\",\"seq\":1,";

		assert_memory_equal(w.data, start, strlen(start));
	}
	json_writer_free(&w);
	bridge_entries_clear(&entries);
	assert_int_equal(query_int(f->db,
	                           "SELECT COUNT(*) FROM"
	                           " message_attachments WHERE blob = '%s'"
	                           " AND convo_id = 'team' AND seq = 1",
	                           a),
	                 1);

	/* sync gives them back as sent. */
	r = ask(f, "bob", "{\"id\":\"y\",\"op\":\"sync\",\"convo\":\"team\"}");
	m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "messages"),
	                       0);
	{
		char *p = cJSON_PrintUnformatted(
		    cJSON_GetObjectItemCaseSensitive(m, "attachments"));

		assert_string_equal(p, list);
		free(p);
	}
	cJSON_Delete(r);

	/* A message without attachments has no such field; malformed ones
	 * are not taken. */
	send_with_attachments(f, "[]", &entries);
	bridge_entries_clear(&entries);
	assert_int_equal(
	    bridge_handoff_messages(
	        "[{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,"
	        "\"cmid\":\"z\",\"body\":\"x\",\"attachments\":[\"AB\"],"
	        "\"client\":\"c\"}]",
	        strlen("[{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\","
	               "\"ts\":1,\"cmid\":\"z\",\"body\":\"x\",\"attachments\":"
	               "[\"AB\"],\"client\":\"c\"}]"),
	        &batch),
	    0);
	bridge_batch_clear(&batch);
}

static void test_retention_sweep_deletes_what_nothing_keeps(void **state)
{
	struct fixture *f = *state;
	struct bridge_entries entries;
	struct bridge_sweep sweep;
	char list[128], unfinished[65];
	struct digest kept, dropped, pending;
	long long later = chat_now_ms() + BRIDGE_RETENTION_MS + 60000;

	upload_file(f, "alice", "team", FILE_SIZE, &kept);
	upload_file(f, "alice", "team", CHUNK + 5, &dropped);
	digest_of(f->file, 10, &pending);
	begin_ok(f, "bob", "team", 10, pending.base64, unfinished);
	cJSON_Delete(send_chunk(f, "bob", unfinished, 0, f->file, 10));
	snprintf(list, sizeof(list), "[\"%s\"]", kept.hex);
	send_with_attachments(f, list, &entries);
	bridge_entries_clear(&entries);

	/* Within the retention period nothing goes. */
	assert_int_equal(
	    bridge_retention_sweep(f->store, &f->media, chat_now_ms(), &sweep),
	    SQLITE_OK);
	assert_int_equal(
	    sweep.files_deleted + sweep.uploads_deleted + sweep.files_kept, 0);

	assert_int_equal(
	    bridge_retention_sweep(f->store, &f->media, later, &sweep),
	    SQLITE_OK);
	assert_int_equal(sweep.files_deleted, 1);
	assert_int_equal(sweep.files_kept, 1);
	assert_int_equal(sweep.uploads_deleted, 1);
	assert_false(sweep.more);
	assert_true(stored(f->media.blobs, kept.hex));
	assert_false(stored(f->media.blobs, dropped.hex));
	assert_false(stored(f->media.partial, unfinished));
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM blobs"), 1);
	assert_int_equal(query_int(f->db,
	                           "SELECT kept FROM blobs WHERE hash = '%s'",
	                           kept.hex),
	                 1);
	assert_int_equal(
	    query_int(f->db, "SELECT COUNT(*) FROM blob_conversations"), 1);
	/* The deleted file and the unfinished upload no longer count. */
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM uploads"), 1);
	assert_int_equal(query_int(f->db, "SELECT SUM(size) FROM uploads"),
	                 FILE_SIZE);

	/* A kept file is never looked at again, and stays readable. */
	assert_int_equal(
	    bridge_retention_sweep(f->store, &f->media, later * 2, &sweep),
	    SQLITE_OK);
	assert_int_equal(sweep.files_deleted + sweep.files_kept, 0);
	{
		unsigned char *bytes = malloc(CHUNK);
		long long chunks;
		cJSON *refusal;
		size_t len;

		assert_true(fetch(f, "bob", kept.hex, 0, bytes, &len, &chunks,
		                  &refusal));
		free(bytes);
	}
}

/* Uploading a file again renews its time: a fresh upload is never swept
 * away from under the message about to name it. */
static void test_uploading_again_renews_a_file(void **state)
{
	struct fixture *f = *state;
	struct bridge_sweep sweep;
	struct digest d;

	upload_file(f, "alice", "team", 100, &d);
	exec_sql(f->db, "UPDATE blobs SET uploaded_at = 0");
	upload_file(f, "bob", "team", 100, &d);
	assert_int_equal(
	    bridge_retention_sweep(f->store, &f->media, chat_now_ms(), &sweep),
	    SQLITE_OK);
	assert_int_equal(sweep.files_deleted, 0);
	assert_true(stored(f->media.blobs, d.hex));
}

static void test_malformed_chunk_handoffs_are_dropped(void **state)
{
	struct bridge_chunk_queue q = {NULL, 0, 0};
	const char *bad[] = {
	    "no header line at all",
	    "{\"user\":\"alice\"}\nbytes",
	    "{\"user\":\"alice\",\"client\":\"c\",\"upload\":\"u_1\","
	    "\"index\":0}\n",
	    "{\"user\":\"alice\",\"client\":\"c\",\"upload\":\"u/1\","
	    "\"index\":0}\nbytes",
	    "{\"user\":\"alice\",\"client\":\"c\",\"upload\":\"u_1\","
	    "\"index\":-1}\nbytes",
	    "not json\nbytes",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    bridge_handoff_chunk(bad[i], strlen(bad[i]), &q), 0);
	assert_int_equal(q.count, 0);
	bridge_chunk_queue_clear(&q);
}

/* Without a blobs folder file requests fail; nothing else does. */
static void test_file_requests_need_the_folder(void **state)
{
	struct fixture *f = *state;
	struct digest d;

	f->media.ready = false;
	digest_of(f->file, 10, &d);
	assert_error(begin(f, "alice", "team", 10, d.base64), "storage_error");
	expect_ok(ask(f, "alice", "{\"id\":\"p\",\"op\":\"ping\"}"));
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_upload_in_order_stores_the_file_under_its_hash),
	    TEST(test_chunks_out_of_order_are_refused),
	    TEST(test_upload_resumes_after_a_torn_chunk),
	    TEST(test_blob_end_checks_size_and_hash),
	    TEST(test_blob_begin_checks_membership_size_and_quota),
	    TEST(test_every_file_counts_at_least_the_minimum),
	    TEST(test_uploads_are_their_users_own),
	    TEST(test_same_file_is_stored_once),
	    TEST(test_download_needs_a_current_member),
	    TEST(test_attachments_are_stored_and_delivered),
	    TEST(test_retention_sweep_deletes_what_nothing_keeps),
	    TEST(test_uploading_again_renews_a_file),
	    TEST(test_malformed_chunk_handoffs_are_dropped),
	    TEST(test_file_requests_need_the_folder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
