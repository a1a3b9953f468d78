#include "media.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes the folder db_path is in ("." for a bare file name). */
static bool database_folder(const char *db_path, char *out, size_t outlen)
{
	const char *slash = strrchr(db_path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(out, outlen, ".");
	else if (slash == db_path)
		n = snprintf(out, outlen, "/");
	else
		n = snprintf(out, outlen, "%.*s", (int)(slash - db_path),
		             db_path);
	return n > 0 && (size_t)n < outlen;
}

static int make_folder(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return errno;
}

int bridge_media_open(struct bridge_media *m, const char *db_path)
{
	char folder[PATH_MAX];
	int n, rc = ENAMETOOLONG;

	memset(m, 0, sizeof(*m));
	m->file_max_bytes = BRIDGE_FILE_MAX_BYTES;
	m->quota_bytes = BRIDGE_QUOTA_BYTES;
	m->retention_ms = BRIDGE_RETENTION_MS;
	if (!database_folder(db_path, folder, sizeof(folder)))
		goto fail;
	n = snprintf(m->blobs, sizeof(m->blobs), "%s/blobs", folder);
	if (n < 0 || (size_t)n >= sizeof(m->blobs))
		goto fail;
	n = snprintf(m->partial, sizeof(m->partial), "%s/partial", m->blobs);
	if (n < 0 || (size_t)n >= sizeof(m->partial))
		goto fail;
	rc = make_folder(m->blobs);
	if (rc == 0)
		rc = make_folder(m->partial);
	if (rc != 0)
		goto fail;
	m->ready = true;
	return 0;
fail:
	bridge_error("cannot use the folder for files next to %s: %s; file "
	             "uploads and downloads fail until it can be made",
	             db_path, strerror(rc));
	return -1;
}

long long bridge_media_chunks(long long size)
{
	return (size + BRIDGE_CHUNK_BYTES - 1) / BRIDGE_CHUNK_BYTES;
}

/* Writes folder/name into out; false when it does not fit. */
static bool path_of(const char *folder, const char *name, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", folder, name);

	return n > 0 && n < PATH_MAX;
}

int bridge_media_partial_size(const struct bridge_media *m, const char *upload,
                              long long *size)
{
	char path[PATH_MAX];
	struct stat st;

	*size = 0;
	if (!path_of(m->partial, upload, path))
		return ENAMETOOLONG;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : errno;
	*size = (long long)st.st_size;
	return 0;
}

static int write_all(int fd, const unsigned char *bytes, size_t len,
                     off_t offset)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, bytes, len, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		bytes += n;
		len -= (size_t)n;
		offset += n;
	}
	return 0;
}

int bridge_media_write_chunk(const struct bridge_media *m, const char *upload,
                             long long offset, const void *bytes, size_t len)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc = 0;

	if (!path_of(m->partial, upload, path))
		return ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0)
		rc = errno;
	else if (st.st_size < offset)
		rc = EINVAL;
	/* What lies beyond is a chunk a crash cut short, or one refused. */
	else if (st.st_size > offset && ftruncate(fd, offset) != 0)
		rc = errno;
	if (rc == 0)
		rc = write_all(fd, bytes, len, offset);
	if (rc != 0 && ftruncate(fd, offset) != 0)
		bridge_debug("cannot cut %s back to %lld bytes", path, offset);
	close(fd);
	return rc;
}

/* Hashes the whole file open at fd. */
static int hash_file(int fd, unsigned char hash[BRIDGE_HASH_BYTES])
{
	crypto_generichash_state state;
	unsigned char *buf = malloc(BRIDGE_CHUNK_BYTES);
	off_t offset = 0;
	int rc = 0;

	if (buf == NULL)
		return ENOMEM;
	crypto_generichash_init(&state, NULL, 0, BRIDGE_HASH_BYTES);
	for (;;) {
		ssize_t n = pread(fd, buf, BRIDGE_CHUNK_BYTES, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			break;
		}
		if (n == 0)
			break;
		crypto_generichash_update(&state, buf, (size_t)n);
		offset += n;
	}
	if (rc == 0)
		crypto_generichash_final(&state, hash, BRIDGE_HASH_BYTES);
	free(buf);
	return rc;
}

int bridge_media_seal(const struct bridge_media *m, const char *upload,
                      long long size, long long *actual,
                      unsigned char hash[BRIDGE_HASH_BYTES])
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc = 0;

	*actual = 0;
	if (!path_of(m->partial, upload, path))
		return ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? EINVAL : errno;
	if (fstat(fd, &st) != 0)
		rc = errno;
	else if ((*actual = (long long)st.st_size) != size)
		rc = EINVAL;
	else if (fsync(fd) != 0)
		rc = errno;
	if (rc == 0)
		rc = hash_file(fd, hash);
	close(fd);
	return rc;
}

/* Makes a rename in folder durable. */
static int sync_folder(const char *folder)
{
	int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		rc = errno;
	close(fd);
	return rc;
}

int bridge_media_publish(const struct bridge_media *m, const char *upload,
                         const char *blob, bool *moved)
{
	char from[PATH_MAX], to[PATH_MAX];

	*moved = false;
	if (!path_of(m->partial, upload, from) || !path_of(m->blobs, blob, to))
		return ENAMETOOLONG;
	/* The bridge alone writes here: a file of that name holds the same
	 * bytes. */
	if (access(to, F_OK) == 0)
		return unlink(from) == 0 ? 0 : errno;
	if (rename(from, to) != 0)
		return errno;
	*moved = true;
	return sync_folder(m->blobs);
}

void bridge_media_unpublish(const struct bridge_media *m, const char *upload,
                            const char *blob)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (path_of(m->blobs, blob, from) && path_of(m->partial, upload, to) &&
	    rename(from, to) != 0)
		bridge_error("cannot move %s back to %s: %s", from, to,
		             strerror(errno));
}

int bridge_media_read_chunk(const struct bridge_media *m, const char *blob,
                            long long index, unsigned char *buf, size_t *len)
{
	char path[PATH_MAX];
	off_t offset = (off_t)index * BRIDGE_CHUNK_BYTES;
	int fd, rc = 0;

	*len = 0;
	if (!path_of(m->blobs, blob, path))
		return ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	while (*len < BRIDGE_CHUNK_BYTES) {
		ssize_t n = pread(fd, buf + *len, BRIDGE_CHUNK_BYTES - *len,
		                  offset + (off_t)*len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			break;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return rc;
}

static int remove_file(const char *folder, const char *name)
{
	char path[PATH_MAX];

	if (!path_of(folder, name, path))
		return ENAMETOOLONG;
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	return errno;
}

int bridge_media_remove_blob(const struct bridge_media *m, const char *blob)
{
	return remove_file(m->blobs, blob);
}

int bridge_media_remove_partial(const struct bridge_media *m,
                                const char *upload)
{
	return remove_file(m->partial, upload);
}
