/*
 * blob_begin, blob_status, blob_end and blob_get: encrypted files. An
 * upload is begun for a conversation the user is a member of, its chunks
 * arrive in order (upload.c), and blob_end checks the size and the
 * BLAKE2b-256 of the whole and stores the file under its hash, once
 * however often it is uploaded. Current members of any conversation a
 * file was uploaded for may download it, a chunk at a time.
 *
 * Every upload not deleted yet counts against its user's quota, with the
 * size it announced but at least BRIDGE_QUOTA_FILE_MIN_BYTES; a user's
 * repeated upload of the same file counts once.
 */
#include "request_ops.h"

#include "change.h"
#include "db.h"
#include "log.h"
#include "store_media.h"
#include "token.h"
#include "upload.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define UPLOAD_ID_PREFIX "u_"

static const struct bridge_failure bad_size = {
    "bad_request", "size must be a whole number of bytes, at least 1"};
static const struct bridge_failure too_large = {
    "too_large",
    "an encrypted file has at most 104864424 bytes (100 MiB of plaintext)"};
static const struct bridge_failure bad_hash_param = {
    "bad_request", "hash must be the base64 of 32 bytes"};
static const struct bridge_failure bad_type = {
    "bad_request", "type must be a string of at most 255 bytes"};
static const struct bridge_failure bad_upload = {"bad_request",
                                                 "upload must be an upload id"};
static const struct bridge_failure no_such_upload = {
    "no_such_upload", "you have no upload with this id"};
static const struct bridge_failure quota_exceeded = {
    "quota_exceeded", "your files would exceed your quota of 1 GiB; files "
                      "no message refers to are deleted after 24 hours"};
static const struct bridge_failure hash_mismatch = {
    "bad_hash", "the file's BLAKE2b-256 is not the hash announced; the "
                "upload is deleted"};
static const struct bridge_failure bad_blob = {
    "bad_request", "blob must be a file id (64 hex digits)"};
static const struct bridge_failure bad_index = {"bad_request",
                                                "index must be a whole number"};
static const struct bridge_failure no_files = {
    "storage_error", "the store cannot keep files now; retry later"};

static const struct bridge_failure *require_media(struct bridge_reply *r)
{
	return r->media != NULL && r->media->ready ? NULL : &no_files;
}

/* "hash": the base64 of 32 bytes, written into hex. */
static const struct bridge_failure *param_hash(struct bridge_reply *r,
                                               char hex[BRIDGE_BLOB_ID_LEN + 1])
{
	const char *text = bridge_json_string(r->req, "hash");
	unsigned char hash[BRIDGE_HASH_BYTES];
	size_t decoded = 0;
	const char *end = NULL;

	if (text == NULL ||
	    sodium_base642bin(hash, sizeof(hash), text, strlen(text), NULL,
	                      &decoded, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    decoded != sizeof(hash) || *end != '\0')
		return &bad_hash_param;
	sodium_bin2hex(hex, BRIDGE_BLOB_ID_LEN + 1, hash, sizeof(hash));
	return NULL;
}

/* The parameters of blob_begin, into a new upload of the asker. */
static const struct bridge_failure *read_begin(struct bridge_reply *r,
                                               struct bridge_upload *u)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(r->req, "type");
	const struct bridge_failure *f;
	const char *convo;

	memset(u, 0, sizeof(*u));
	f = bridge_param_convo(r, &convo);
	if (f != NULL)
		return f;
	if (!bridge_json_count(cJSON_GetObjectItemCaseSensitive(r->req, "size"),
	                       &u->size) ||
	    u->size < 1)
		return &bad_size;
	if (u->size > r->media->file_max_bytes)
		return &too_large;
	f = param_hash(r, u->hash);
	if (f != NULL)
		return f;
	if (type != NULL && (!cJSON_IsString(type) ||
	                     strlen(type->valuestring) > BRIDGE_FILE_TYPE_MAX))
		return &bad_type;
	if (type != NULL)
		strcpy(u->type, type->valuestring);
	strcpy(u->convo, convo);
	strcpy(u->user, r->user);
	chat_random_id(UPLOAD_ID_PREFIX, u->id, sizeof(u->id));
	u->created_at = chat_now_ms();
	return NULL;
}

static const struct bridge_failure *require_member(struct bridge_reply *r,
                                                   const char *convo)
{
	struct bridge_membership m;
	int rc = bridge_store_membership(r->store, convo, r->user, &m);

	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	return m.current ? NULL : &bridge_failure_not_member;
}

static const struct bridge_failure *add_upload(struct bridge_change *c,
                                               const struct bridge_upload *u)
{
	struct bridge_reply *r = c->r;
	long long used = 0, size = u->size > BRIDGE_QUOTA_FILE_MIN_BYTES
	                                 ? u->size
	                                 : BRIDGE_QUOTA_FILE_MIN_BYTES;
	int rc = bridge_store_quota_used(r->store, r->user,
	                                 BRIDGE_QUOTA_FILE_MIN_BYTES, &used);

	if (rc == SQLITE_OK && used + size > r->media->quota_bytes)
		return &quota_exceeded;
	if (rc == SQLITE_OK)
		rc = bridge_store_add_upload(r->store, u);
	return rc == SQLITE_OK ? NULL : bridge_change_failed(c, rc);
}

const struct bridge_failure *bridge_op_blob_begin(struct bridge_reply *r)
{
	const struct bridge_failure *f = require_media(r);
	struct bridge_change c;
	struct bridge_upload u;

	if (f == NULL)
		f = read_begin(r, &u);
	if (f == NULL)
		f = require_member(r, u.convo);
	if (f != NULL)
		return f;
	f = bridge_change_begin(&c, r, u.convo);
	if (f == NULL)
		f = add_upload(&c, &u);
	if (f == NULL) {
		bridge_reply_open(r);
		json_writer_key(r->out, "upload");
		json_writer_string(r->out, u.id);
		json_writer_key(r->out, "chunk_size");
		json_writer_int(r->out, BRIDGE_CHUNK_BYTES);
		json_writer_key(r->out, "received");
		json_writer_int(r->out, 0);
		json_writer_close_object(r->out);
		f = bridge_change_commit(&c);
	}
	bridge_change_end(&c);
	return f;
}

/* "upload": one of the asker's uploads. */
static const struct bridge_failure *param_upload(struct bridge_reply *r,
                                                 struct bridge_upload *u)
{
	const char *id = bridge_json_string(r->req, "upload");
	int rc;

	if (!chat_valid_convo_id(id))
		return &bad_upload;
	rc = bridge_store_upload(r->store, id, u);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	if (!u->found || strcmp(u->user, r->user) != 0)
		return &no_such_upload;
	return NULL;
}

const struct bridge_failure *bridge_op_blob_status(struct bridge_reply *r)
{
	const struct bridge_failure *f = require_media(r);
	struct bridge_upload u;
	long long received = 0;
	int rc;

	if (f == NULL)
		f = param_upload(r, &u);
	if (f != NULL)
		return f;
	rc = bridge_upload_received(r->media, &u, &received);
	if (rc != 0) {
		bridge_error("cannot read upload %s: %s", u.id, strerror(rc));
		return &no_files;
	}
	bridge_reply_open(r);
	json_writer_key(r->out, "upload");
	json_writer_string(r->out, u.id);
	json_writer_key(r->out, "received");
	json_writer_int(r->out, received);
	json_writer_key(r->out, "chunks");
	json_writer_int(r->out, bridge_media_chunks(u.size));
	if (u.blob[0] != '\0') {
		json_writer_key(r->out, "blob");
		json_writer_string(r->out, u.blob);
	}
	json_writer_close_object(r->out);
	return NULL;
}

static void answer_blob(struct bridge_reply *r, const char *blob)
{
	bridge_reply_open(r);
	json_writer_key(r->out, "blob");
	json_writer_string(r->out, blob);
	json_writer_close_object(r->out);
}

/* A file that is not what was announced cannot become right: the upload
 * goes, and its quota with it. */
static const struct bridge_failure *drop_upload(struct bridge_reply *r,
                                                const struct bridge_upload *u)
{
	struct bridge_change c;
	const struct bridge_failure *f = bridge_change_begin(&c, r, u->convo);
	int rc;

	if (f == NULL &&
	    (rc = bridge_store_delete_upload(r->store, u->id)) != SQLITE_OK)
		f = bridge_change_failed(&c, rc);
	if (f == NULL)
		f = bridge_change_commit(&c);
	bridge_change_end(&c);
	if (f == NULL && bridge_media_remove_partial(r->media, u->id) != 0)
		bridge_warning("cannot delete the file of upload %s", u->id);
	return f != NULL ? f : &hash_mismatch;
}

/* Flushes the file and checks it: *blob is its id. */
static const struct bridge_failure *seal(struct bridge_reply *r,
                                         const struct bridge_upload *u,
                                         char blob[BRIDGE_BLOB_ID_LEN + 1])
{
	unsigned char hash[BRIDGE_HASH_BYTES];
	long long actual;
	int rc = bridge_media_seal(r->media, u->id, u->size, &actual, hash);

	if (rc == EINVAL)
		return bridge_reply_fail(r, "bad_size",
		                         "received %lld of %lld bytes", actual,
		                         u->size);
	if (rc != 0) {
		bridge_error("cannot read the file of upload %s: %s", u->id,
		             strerror(rc));
		return &no_files;
	}
	sodium_bin2hex(blob, BRIDGE_BLOB_ID_LEN + 1, hash, sizeof(hash));
	if (strcmp(blob, u->hash) != 0)
		return drop_upload(r, u);
	return NULL;
}

/* Records the file and moves it into place, in one change. */
static const struct bridge_failure *
finish(struct bridge_reply *r, const struct bridge_upload *u, const char *blob)
{
	struct bridge_change c;
	const struct bridge_failure *f = bridge_change_begin(&c, r, u->convo);
	bool moved = false;
	int rc;

	if (f == NULL && (rc = bridge_store_finish_upload(
	                      r->store, u, blob, chat_now_ms())) != SQLITE_OK)
		f = bridge_change_failed(&c, rc);
	if (f == NULL &&
	    (rc = bridge_media_publish(r->media, u->id, blob, &moved)) != 0) {
		bridge_error("cannot store file %s of upload %s: %s", blob,
		             u->id, strerror(rc));
		f = &no_files;
	}
	if (f == NULL) {
		answer_blob(r, blob);
		f = bridge_change_commit(&c);
	}
	if (f != NULL && moved)
		bridge_media_unpublish(r->media, u->id, blob);
	bridge_change_end(&c);
	return f;
}

/* A repeated blob_end (its answer was lost) answers the same. */
const struct bridge_failure *bridge_op_blob_end(struct bridge_reply *r)
{
	const struct bridge_failure *f = require_media(r);
	char blob[BRIDGE_BLOB_ID_LEN + 1];
	struct bridge_upload u;

	if (f == NULL)
		f = param_upload(r, &u);
	if (f == NULL && u.blob[0] != '\0') {
		answer_blob(r, u.blob);
		return NULL;
	}
	if (f == NULL)
		f = require_member(r, u.convo);
	if (f == NULL)
		f = seal(r, &u, blob);
	if (f == NULL)
		f = finish(r, &u, blob);
	return f;
}

/* {"id","blob","index","chunks"}, a newline, then the chunk's bytes. */
static const struct bridge_failure *write_chunk(struct bridge_reply *r,
                                                const char *blob,
                                                long long index,
                                                long long chunks)
{
	unsigned char *buf = malloc(BRIDGE_CHUNK_BYTES);
	size_t len = 0;
	int rc;

	if (buf == NULL)
		return &bridge_failure_internal;
	rc = bridge_media_read_chunk(r->media, blob, index, buf, &len);
	if (rc != 0) {
		free(buf);
		bridge_error("cannot read chunk %lld of file %s: %s", index,
		             blob, strerror(rc));
		return &bridge_failure_internal;
	}
	json_writer_open_object(r->out);
	json_writer_key(r->out, "id");
	json_writer_string(r->out, r->id);
	json_writer_key(r->out, "blob");
	json_writer_string(r->out, blob);
	json_writer_key(r->out, "index");
	json_writer_int(r->out, index);
	json_writer_key(r->out, "chunks");
	json_writer_int(r->out, chunks);
	json_writer_close_object(r->out);
	json_writer_raw(r->out, "\n", 1);
	json_writer_raw(r->out, (const char *)buf, len);
	free(buf);
	r->blob = true;
	return NULL;
}

/* A file that does not exist is answered like one the asker may not
 * read: nobody learns which files exist. */
const struct bridge_failure *bridge_op_blob_get(struct bridge_reply *r)
{
	const char *blob = bridge_json_string(r->req, "blob");
	const struct bridge_failure *f = require_media(r);
	long long index, size, chunks;
	bool readable;
	int rc;

	if (f == NULL && !bridge_valid_blob_id(blob))
		f = &bad_blob;
	if (f == NULL)
		f = bridge_param_count(r, "index", 0, &bad_index, &index);
	if (f != NULL)
		return f;
	rc = bridge_store_readable_blob(r->store, r->user, blob, &readable,
	                                &size);
	if (rc != SQLITE_OK)
		return bridge_reply_store_failed(r, rc);
	if (!readable)
		return &bridge_failure_not_member;
	chunks = bridge_media_chunks(size);
	if (index >= chunks)
		return bridge_reply_fail(r, "bad_request",
		                         "index must be below %lld", chunks);
	return write_chunk(r, blob, index, chunks);
}
