#include "chatctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char usage_text[] =
    "usage: chatctl [-c mosquitto.conf] [--db PATH] <command> ...\n"
    "\n"
    "  init                            create or migrate the database,\n"
    "                                  refresh the service token file\n"
    "  user add <id> [--label L]       new user and first device token\n"
    "  user list                       users and their active devices\n"
    "  device add <user> [--label L]   another device token for a user\n"
    "  device list <user>              a user's devices\n"
    "  device revoke <device-id>       revoke a device token\n"
    "  convo direct <user-a> <user-b>  the pair's direct conversation\n"
    "  convo list [--user U]           conversations, members, head seq\n"
    "  group create <title> --owner U [--member U]... [--channel]\n"
    "                                  new group or channel owned by U;\n"
    "                                  prints its conversation id\n"
    "  group add <convo> <user>...     add members\n"
    "  group remove <convo> <user>...  remove members\n"
    "  group rename <convo> <title>    give a group a new title\n"
    "  group role <convo> <user> admin|member\n"
    "                                  promote or demote a member\n"
    "  group members <convo>           members, roles, join points, cursors\n"
    "  help                            this text\n"
    "\n"
    "The database path is plugin_opt_database of the chat plugin in the\n"
    "configuration file (default ./mosquitto.conf); --db overrides it.\n"
    "Tokens are printed once on stdout; only their hash is stored.\n"
    "\n"
    "Group changes are carried out by the running bridge, so that every\n"
    "member gets its system message: chatctl leaves the request in the\n"
    "database and waits up to 10 s (CHATCTL_BRIDGE_WAIT_MS) for the answer.\n"
    "add, remove, rename and role are made by $admin, an admin of every\n"
    "group, or in the name of the user given with --by U.\n";

void chatctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("chatctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The token alone on stdout, for TOKEN=$(chatctl ...); the rest for the
 * operator on stderr. */
void chatctl_print_token(const char *user, long long device_id,
                         const char *token)
{
	printf("%s\n", token);
	fprintf(stderr,
	        "token for %s (device %lld): shown once, only its hash is "
	        "stored\n",
	        user, device_id);
}

void chatctl_usage_of(const char *synopsis)
{
	fprintf(stderr, "usage: chatctl %s\n", synopsis);
}

void chatctl_usage(void)
{
	fputs(usage_text, stderr);
}

void chatctl_help(void)
{
	fputs(usage_text, stdout);
}

/* UTC, so listings read the same on every machine and sort as text. */
void chatctl_format_time(long long ms, char out[CHATCTL_TIME_LEN])
{
	time_t seconds = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&seconds, &tm) == NULL ||
	    strftime(out, CHATCTL_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, CHATCTL_TIME_LEN, "%lld", ms);
}

/*
 * Prints text from the store or the bridge (a title, an error message) as
 * it is, unless it holds a control code or is not UTF-8: then quoted, with
 * such bytes escaped, so it cannot drive the terminal.
 */
void chatctl_print_text(FILE *out, const char *text)
{
	char quoted[CHATCTL_QUOTED_MAX];

	if (!chatctl_printable(text)) {
		fputs(chatctl_quote(text, quoted, sizeof(quoted)), out);
		return;
	}
	fputs(text, out);
}

/*
 * Quotes text for an error message with every byte outside printable ASCII
 * written as \xNN, so a hostile argument cannot drive the terminal. Long
 * text is cut with "...". Returns out.
 */
const char *chatctl_quote(const char *text, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t used = 0;

	/* Worst case per byte: 4 characters; keep room for "...'" and NUL. */
	out[used++] = '\'';
	for (; *p && used + 4 + 5 <= outlen; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			out[used++] = (char)*p;
		else
			used += (size_t)snprintf(out + used, outlen - used,
			                         "\\x%02x", *p);
	}
	if (*p)
		used += (size_t)snprintf(out + used, outlen - used, "...");
	snprintf(out + used, outlen - used, "'");
	return out;
}
