/*
 * Users, devices and conversations are made with the real admin CLI,
 * `chatctl -c CONF ...`, exactly as an operator would.
 */
#include "harness.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CTL_TIMEOUT_MS 10000
#define CTL_MAX_ARGS   12

static void trim(char *s)
{
	size_t len = strlen(s), start = 0;

	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	while (isspace((unsigned char)s[start]))
		start++;
	memmove(s, s + start, len - start + 1);
}

/* One word of printable ASCII, as every id and token printed must be. */
static bool single_word(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s; s++) {
		if (*s <= ' ' || *s > '~')
			return false;
	}
	return true;
}

static void join_args(va_list ap, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (char *a; used < outlen && (a = va_arg(ap, char *));)
		used += (size_t)snprintf(out + used, outlen - used, " %s", a);
}

/* Runs chatctl with the arguments in ap; returns its exit status or -1.
 * A sanitizer report on stderr counts as a failure. */
static int run_ctl(struct chat_server *srv, char *out, size_t outlen, char *err,
                   size_t errlen, va_list ap)
{
	static const char *const reports[] = {
	    "AddressSanitizer", "LeakSanitizer", "runtime error:", NULL};
	char program[PATH_MAX + 16];
	char *argv[CTL_MAX_ARGS + 4] = {program, "-c", srv->conf_path};
	int argc = 3, rc;

	snprintf(program, sizeof(program), "%s/chatctl", srv->build_dir);
	for (char *a; argc < CTL_MAX_ARGS + 3 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	argv[argc] = NULL;
	rc = test_process_run(argv, test_timeout_ms(CTL_TIMEOUT_MS), out,
	                      outlen, err, errlen);
	trim(out);
	for (int i = 0; rc >= 0 && reports[i]; i++) {
		if (strstr(err, reports[i])) {
			test_log("chatctl: %s", err);
			rc = -1;
		}
	}
	return rc;
}

int chat_server_ctl_status(struct chat_server *srv, char *out, size_t outlen,
                           char *err, size_t errlen, ...)
{
	va_list ap;
	int rc;

	va_start(ap, errlen);
	rc = run_ctl(srv, out, outlen, err, errlen, ap);
	va_end(ap);
	return rc;
}

int chat_server_ctl(struct chat_server *srv, char *out, size_t outlen, ...)
{
	char err[8192], args[512];
	va_list ap;
	int rc;

	va_start(ap, outlen);
	rc = run_ctl(srv, out, outlen, err, sizeof(err), ap);
	va_end(ap);
	if (rc != 0) {
		va_start(ap, outlen);
		join_args(ap, args, sizeof(args));
		va_end(ap);
		test_log("chatctl%s failed (exit %d): %s", args, rc, err);
	}
	return rc == 0 ? 0 : -1;
}

int chat_server_add_user(struct chat_server *srv, const char *user,
                         char token_out[TEST_TOKEN_MAX])
{
	if (chat_server_ctl(srv, token_out, TEST_TOKEN_MAX, "user", "add", user,
	                    NULL) != 0)
		return -1;
	if (!single_word(token_out)) {
		test_log("chatctl user add %s printed \"%s\", not a token",
		         user, token_out);
		return -1;
	}
	return 0;
}

/* The first word of the first line of `after` that `before` lacks. */
static int new_device_id(const char *before, const char *after,
                         char *device_out)
{
	char copy[8192], *line, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", after);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len = strcspn(line, " \t");

		if (strstr(before, line) != NULL || len == 0 ||
		    len >= TEST_ID_MAX)
			continue;
		memcpy(device_out, line, len);
		device_out[len] = '\0';
		return 0;
	}
	test_log("no new device in `chatctl device list`:\n%s", after);
	return -1;
}

int chat_server_add_device(struct chat_server *srv, const char *user,
                           char token_out[TEST_TOKEN_MAX], char *device_out)
{
	char before[8192], after[8192];

	if (device_out && chat_server_ctl(srv, before, sizeof(before), "device",
	                                  "list", user, NULL) != 0)
		return -1;
	if (chat_server_ctl(srv, token_out, TEST_TOKEN_MAX, "device", "add",
	                    user, NULL) != 0)
		return -1;
	if (!single_word(token_out)) {
		test_log("chatctl device add %s printed \"%s\", not a token",
		         user, token_out);
		return -1;
	}
	if (device_out == NULL)
		return 0;
	if (chat_server_ctl(srv, after, sizeof(after), "device", "list", user,
	                    NULL) != 0)
		return -1;
	return new_device_id(before, after, device_out);
}

int chat_server_revoke_device(struct chat_server *srv, const char *device)
{
	char out[512];

	return chat_server_ctl(srv, out, sizeof(out), "device", "revoke",
	                       device, NULL);
}

int chat_server_direct(struct chat_server *srv, const char *a, const char *b,
                       char convo_out[TEST_ID_MAX])
{
	if (chat_server_ctl(srv, convo_out, TEST_ID_MAX, "convo", "direct", a,
	                    b, NULL) != 0)
		return -1;
	if (!single_word(convo_out)) {
		test_log("chatctl convo direct %s %s printed \"%s\"", a, b,
		         convo_out);
		return -1;
	}
	return 0;
}
