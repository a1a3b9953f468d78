#include "chatctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The state directory holds the store and the service token: owner only. */
#define STATE_DIR_MODE 0700

/*
 * Creates every missing directory above path (like mkdir -p on its
 * dirname). Returns 0, or -1 after saying which directory failed.
 */
int chatctl_make_parent_dirs(const char *path)
{
	char dir[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(dir)) {
		chatctl_error("path too long: %s", path);
		return -1;
	}
	memcpy(dir, path, len + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, STATE_DIR_MODE) != 0 && errno != EEXIST) {
			chatctl_error("cannot create directory %s: %s", dir,
			              strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static bool is_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Reads a token file that holds one token, optionally followed by a line
 * end. Returns 0 with the token, 1 when the file is missing or does not
 * hold a well-formed token (both mean: issue a new one), -1 on a read
 * error.
 */
int chatctl_token_file_read(const char *path, char token[CHAT_TOKEN_LEN + 1])
{
	char buf[CHAT_TOKEN_LEN + 8];
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL && errno == ENOENT)
		return 1;
	if (f == NULL) {
		chatctl_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len != CHAT_TOKEN_LEN)
		return 1;
	for (size_t i = 0; i < len; i++)
		if (!is_token_char(buf[i]))
			return 1;
	memcpy(token, buf, CHAT_TOKEN_LEN + 1);
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces the token file atomically: the bridge, reading it at any moment,
 * sees either the old token or the new one, never a partial file. mkstemp
 * creates the temporary file with mode 0600 before a byte is written. The
 * token is written without a line end.
 */
int chatctl_token_file_write(const char *path, const char *token)
{
	char tmp[PATH_MAX];
	int fd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		chatctl_error("path too long: %s", path);
		return -1;
	}
	if (chatctl_make_parent_dirs(path) != 0)
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0) {
		chatctl_error("cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, token, strlen(token)) != 0 || fsync(fd) != 0) {
		chatctl_error("cannot write %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		fd = -1;
		chatctl_error("cannot replace %s: %s", path, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}
