/*
 * The blobs folder next to the database, where encrypted files live:
 * blobs/<hex BLAKE2b-256> for finished files (content-addressed: the same
 * file is stored once), blobs/partial/<upload id> for the chunks of an
 * upload so far. Chunks are appended without fsync; the file is flushed
 * once, when the upload is finished. A partial file is the record of how
 * far its upload got: every chunk but the last is exactly
 * BRIDGE_CHUNK_BYTES, so its size says how many arrived, and a chunk cut
 * short by a crash is cut off before the next one is written.
 */
#ifndef BRIDGE_MEDIA_H
#define BRIDGE_MEDIA_H

#include "message.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define BRIDGE_CHUNK_BYTES (256 * 1024)
/* Limits of docs/PROTOCOL.md, "Media". A file of 100 MiB grows when it is
 * encrypted (a 24-byte header and 17 bytes per 256 KiB chunk): the limit
 * on what is stored leaves room for that. */
#define BRIDGE_FILE_MAX_BYTES                                                  \
	(100LL * 1024 * 1024 + 24 + 17 * (100LL * 1024 * 1024 / BRIDGE_CHUNK_BYTES))
#define BRIDGE_QUOTA_BYTES    (1024LL * 1024 * 1024)
/* What a file counts against the quota at least: every file costs a disk
 * block, an inode and rows, so tiny files must not come for free. */
#define BRIDGE_QUOTA_FILE_MIN_BYTES (64LL * 1024)
#define BRIDGE_RETENTION_MS   (24LL * 60 * 60 * 1000)
#define BRIDGE_HASH_BYTES     32 /* BLAKE2b-256 */

struct bridge_media {
	char blobs[PATH_MAX];   /* the folder of finished files */
	char partial[PATH_MAX]; /* the folder of uploads in progress */
	bool ready;             /* both folders exist */
	long long file_max_bytes;
	long long quota_bytes;  /* per user */
	long long retention_ms; /* of files no message refers to, and of
	                           unfinished uploads */
};

/*
 * Sets up the folders next to the database at db_path (created when
 * missing, mode 0700) and the limits of docs/PROTOCOL.md. Returns 0, or
 * -1 (logged) when the folders cannot be made; ready is then false and
 * file requests fail with storage_error, but everything else works.
 */
int bridge_media_open(struct bridge_media *m, const char *db_path);

/* The number of chunks of a file of size bytes. */
long long bridge_media_chunks(long long size);

/* The bytes of an upload received so far (0 when none). Returns 0, or an
 * errno value. */
int bridge_media_partial_size(const struct bridge_media *m, const char *upload,
                              long long *size);

/* Writes a chunk at offset of the upload's file, cutting off whatever lay
 * beyond offset. Returns 0, or an errno value (the file then ends at
 * offset or before). */
int bridge_media_write_chunk(const struct bridge_media *m, const char *upload,
                             long long offset, const void *bytes, size_t len);

/* Flushes the upload's file to disk and hashes it, when it holds exactly
 * size bytes; *actual is its size. Returns 0, or an errno value (EINVAL:
 * not size bytes). */
int bridge_media_seal(const struct bridge_media *m, const char *upload,
                      long long size, long long *actual,
                      unsigned char hash[BRIDGE_HASH_BYTES]);

/*
 * Makes the upload's file the stored file blob: moved into place, or
 * dropped when that file is stored already. *moved tells which, for
 * bridge_media_unpublish. Returns 0, or an errno value.
 */
int bridge_media_publish(const struct bridge_media *m, const char *upload,
                         const char *blob, bool *moved);

/* Undoes a move by bridge_media_publish (the change that recorded it
 * failed). */
void bridge_media_unpublish(const struct bridge_media *m, const char *upload,
                            const char *blob);

/* Reads chunk index of blob (at most BRIDGE_CHUNK_BYTES into buf).
 * Returns 0, or an errno value. */
int bridge_media_read_chunk(const struct bridge_media *m, const char *blob,
                            long long index, unsigned char *buf, size_t *len);

/* Deletes a stored file or an upload's file; a missing one is no error.
 * Returns 0, or an errno value. */
int bridge_media_remove_blob(const struct bridge_media *m, const char *blob);
int bridge_media_remove_partial(const struct bridge_media *m,
                                const char *upload);

#endif
