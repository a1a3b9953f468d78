/*
 * Uploads and stored files as the database knows them: who uploads what
 * for which conversation, the files finished uploads made, who may read
 * them, and what the retention sweep may delete. The bytes themselves
 * are in the blobs folder (media.h). Changes are made inside the caller's
 * transaction.
 *
 * Functions return SQLITE_OK or an SQLite error code.
 */
#ifndef BRIDGE_STORE_MEDIA_H
#define BRIDGE_STORE_MEDIA_H

#include "ids.h"
#include "message.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

/* "u_" and 24 hex digits, like conversation ids. */
#define BRIDGE_UPLOAD_ID_MAX CHAT_ID_MAX
#define BRIDGE_FILE_TYPE_MAX 255 /* bytes */

struct bridge_upload {
	bool found;
	char id[BRIDGE_UPLOAD_ID_MAX + 1];
	char user[CHAT_ID_MAX + 1];
	char convo[CHAT_ID_MAX + 1];
	long long size;
	char hash[BRIDGE_BLOB_ID_LEN + 1];   /* expected, hex */
	char type[BRIDGE_FILE_TYPE_MAX + 1]; /* "" when not given */
	long long created_at;
	char blob[BRIDGE_BLOB_ID_LEN + 1]; /* "" until finished */
};

/* What user's uploads take of its quota: the sizes of those not deleted
 * yet, finished or not, each counted as at least file_min bytes. */
int bridge_store_quota_used(struct bridge_store *s, const char *user,
                            long long file_min, long long *bytes);

/* A new upload; found, blob are ignored. */
int bridge_store_add_upload(struct bridge_store *s,
                            const struct bridge_upload *u);

/* The upload with this id; found is false when there is none. */
int bridge_store_upload(struct bridge_store *s, const char *id,
                        struct bridge_upload *out);

/*
 * Records that upload made blob: the file exists (renewing its upload
 * time), may be read by the members of the upload's conversation, and
 * counts against the user's quota once however often the user uploaded
 * it (a second finished upload of the same file by the same user goes).
 */
int bridge_store_finish_upload(struct bridge_store *s,
                               const struct bridge_upload *u, const char *blob,
                               long long now_ms);

int bridge_store_delete_upload(struct bridge_store *s, const char *id);

/* Whether user may read blob: a current member of a conversation it was
 * uploaded for. *size is the file's. */
int bridge_store_readable_blob(struct bridge_store *s, const char *user,
                               const char *blob, bool *readable,
                               long long *size);

/* Receives an id (a file's or an upload's), borrowed for the call. */
typedef bool (*bridge_id_fn)(void *ctx, const char *id);

/* Up to limit files uploaded last before before_ms that no message was
 * found to refer to yet, oldest first. */
int bridge_store_unkept_blobs(struct bridge_store *s, long long before_ms,
                              long long limit, bridge_id_fn fn, void *ctx);

/* Whether a message refers to blob. */
int bridge_store_blob_referenced(struct bridge_store *s, const char *blob,
                                 bool *referenced);

/* A message refers to blob: it is never deleted. */
int bridge_store_keep_blob(struct bridge_store *s, const char *blob);

/* Forgets blob, who may read it and the uploads that made it. */
int bridge_store_delete_blob(struct bridge_store *s, const char *blob);

/* Up to limit uploads begun before before_ms and never finished. */
int bridge_store_stale_uploads(struct bridge_store *s, long long before_ms,
                               long long limit, bridge_id_fn fn, void *ctx);

#endif
