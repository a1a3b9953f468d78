/*
 * A broker whose wall clock the test can step: libfaketime (Debian's
 * libfaketime package) preloaded, reading its offset from a file in the
 * server's folder at every reading of the clock (a cache of even a second
 * made the step's moment uncertain). CLOCK_MONOTONIC stays real, as
 * on a machine whose clock is stepped by NTP or by hand.
 */
#include "internal.h"

#include <glob.h>
#include <stdio.h>
#include <string.h>

#define OFFSET_FILE "fake-clock-offset"

static int library_path(char *out, size_t outlen)
{
	glob_t found;
	int rc = -1;

	if (glob("/usr/lib/*/faketime/libfaketime.so.1", 0, NULL, &found) ==
	    0) {
		if (found.gl_pathc > 0 &&
		    snprintf(out, outlen, "%s", found.gl_pathv[0]) <
		        (int)outlen)
			rc = 0;
		globfree(&found);
	}
	if (rc != 0)
		test_log("libfaketime not found (Debian package libfaketime)");
	return rc;
}

int chat_server_step_clock(struct chat_server *srv, long seconds)
{
	char path[PATH_MAX];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/" OFFSET_FILE, srv->dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	rc = fprintf(f, "%+ld\n", seconds) > 0 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Appends "NAME=value" to env, its text kept in storage. */
static int add(char **storage, size_t *left, char *env[], size_t envlen,
               const char *name, const char *value)
{
	size_t n = 0;
	int len;

	while (env[n])
		n++;
	if (n + 1 >= envlen)
		return -1;
	len = snprintf(*storage, *left, "%s=%s", name, value);
	if (len < 0 || (size_t)len >= *left)
		return -1;
	env[n] = *storage;
	env[n + 1] = NULL;
	*storage += len + 1;
	*left -= (size_t)len + 1;
	return 0;
}

int test_fake_clock_env(struct chat_server *srv, char *storage,
                        size_t storagelen, char *env[], size_t envlen)
{
	char lib[PATH_MAX], file[PATH_MAX];
	size_t left = storagelen;

	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], "LD_PRELOAD=", 11) == 0) {
			/* Beside ASan's runtime, libfaketime hangs at start. */
			test_log("libfaketime cannot be preloaded with %s",
			         env[i]);
			return -1;
		}
	if (library_path(lib, sizeof(lib)) != 0 ||
	    chat_server_step_clock(srv, 0) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s/" OFFSET_FILE, srv->dir);
	return add(&storage, &left, env, envlen, "LD_PRELOAD", lib) ||
	               add(&storage, &left, env, envlen,
	                   "FAKETIME_TIMESTAMP_FILE", file) ||
	               add(&storage, &left, env, envlen,
	                   "FAKETIME_NO_CACHE", "1") ||
	               add(&storage, &left, env, envlen, "DONT_FAKE_MONOTONIC",
	                   "1")
	           ? -1
	           : 0;
}
