#include "upload.h"

#include "log.h"
#include "message.h"

#include <errno.h>
#include <string.h>

/* Why a chunk was refused, and whether the count received is known. */
struct refusal {
	const char *code;
	const char *message;
	bool known;
};

static const struct refusal unknown_upload = {
    "no_such_upload", "you have no upload with this id", false};
static const struct refusal out_of_order = {
    "out_of_order", "not the next chunk: resume from received", true};
static const struct refusal complete = {
    "out_of_order", "every chunk of this upload was received", true};
static const struct refusal wrong_length = {
    "bad_size",
    "a chunk is 262144 bytes, the last one what remains of the file", true};
static const struct refusal not_stored = {
    "storage_error", "the store could not save the chunk; retry later", true};
static const struct refusal no_store = {
    "storage_error", "the store could not save the chunk; retry later", false};

int bridge_upload_received(const struct bridge_media *m,
                           const struct bridge_upload *u, long long *received)
{
	long long bytes;
	int rc;

	*received = 0;
	if (u->blob[0] != '\0') {
		*received = bridge_media_chunks(u->size);
		return 0;
	}
	rc = bridge_media_partial_size(m, u->id, &bytes);
	if (rc != 0)
		return rc;
	/* Only the last chunk is shorter than the others. */
	if (bytes == u->size)
		*received = bridge_media_chunks(u->size);
	else
		*received =
		    (bytes < u->size ? bytes : u->size) / BRIDGE_CHUNK_BYTES;
	return 0;
}

static void open_ack(struct json_writer *out, const struct bridge_chunk *c,
                     bool ok)
{
	bridge_request_frame(out, c->user, c->client, NULL);
	json_writer_open_object(out);
	json_writer_key(out, "id");
	json_writer_null(out);
	json_writer_key(out, "op");
	json_writer_string(out, "upload");
	json_writer_key(out, "upload");
	json_writer_string(out, c->upload);
	json_writer_key(out, "index");
	json_writer_int(out, c->index);
	json_writer_key(out, "ok");
	json_writer_bool(out, ok);
}

static void write_refusal(struct json_writer *out, const struct bridge_chunk *c,
                          const struct refusal *why, long long received)
{
	open_ack(out, c, false);
	json_writer_key(out, "error");
	json_writer_open_object(out);
	json_writer_key(out, "code");
	json_writer_string(out, why->code);
	json_writer_key(out, "message");
	json_writer_string(out, why->message);
	json_writer_close_object(out);
	if (why->known) {
		json_writer_key(out, "received");
		json_writer_int(out, received);
	}
	json_writer_close_object(out);
}

/* Appends the chunk when it is the next one; *received is the count
 * after it, or to resume from. */
static const struct refusal *store_chunk(const struct bridge_media *m,
                                         const struct bridge_upload *u,
                                         const struct bridge_chunk *c,
                                         long long *received)
{
	long long offset, expected;
	int rc;

	if (bridge_upload_received(m, u, received) != 0)
		return &no_store;
	if (*received == bridge_media_chunks(u->size))
		return &complete;
	if (c->index != *received)
		return &out_of_order;
	offset = *received * BRIDGE_CHUNK_BYTES;
	expected = u->size - offset;
	if (expected > BRIDGE_CHUNK_BYTES)
		expected = BRIDGE_CHUNK_BYTES;
	if ((long long)c->len != expected)
		return &wrong_length;
	rc = bridge_media_write_chunk(m, u->id, offset, c->bytes, c->len);
	if (rc != 0) {
		bridge_error("cannot store chunk %lld of upload %s by %s: %s",
		             c->index, u->id, u->user, strerror(rc));
		return &not_stored;
	}
	(*received)++;
	return NULL;
}

int bridge_upload_receive(const struct bridge_request_context *ctx,
                          const struct bridge_chunk *chunk,
                          struct json_writer *out)
{
	const struct refusal *why = NULL;
	struct bridge_upload u;
	long long received = 0;
	int rc = bridge_store_upload(ctx->store, chunk->upload, &u);

	if (rc != SQLITE_OK) {
		bridge_error("cannot read upload %s: %s", chunk->upload,
		             sqlite3_errstr(rc));
		why = &no_store;
	} else if (!u.found || strcmp(u.user, chunk->user) != 0) {
		why = &unknown_upload;
	} else if (ctx->media == NULL || !ctx->media->ready) {
		why = &no_store;
	} else {
		why = store_chunk(ctx->media, &u, chunk, &received);
	}
	json_writer_reset(out);
	if (why != NULL) {
		bridge_client_info(
		    "refused chunk %lld of upload %s from %s: %s", chunk->index,
		    chunk->upload, chunk->user, why->code);
		write_refusal(out, chunk, why, received);
	} else {
		open_ack(out, chunk, true);
		json_writer_key(out, "received");
		json_writer_int(out, received);
		json_writer_close_object(out);
	}
	return json_writer_ok(out) ? 0 : -1;
}
