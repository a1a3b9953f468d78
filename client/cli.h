/*
 * The `chat` command line client over libchatclient. Messages and command
 * results go to stdout, one line each (or one JSON object per line with
 * --json); warnings, progress and errors go to stderr, errors starting
 * with "chat: ".
 */
#ifndef CHAT_CLI_H
#define CHAT_CLI_H

#include "chat.h"

#include <stdbool.h>

/* Exit statuses. */
enum {
	CLI_OK = 0,
	CLI_FAILED = 1,
	CLI_USAGE = 2,
	CLI_QUEUED = 3, /* sent, but no tick yet: it is sent again later */
};

struct cli_output {
	bool json;
};

/* Prints one message (a chat_message_fn; ctx is a struct cli_output). */
void cli_print_message(void *ctx, const struct chat_message *m);

/* Prints a notice on stderr (a chat_notice_fn). */
void cli_print_notice(void *ctx, const char *text);

/* Prints one conversation (a chat_conversation_fn). */
void cli_print_conversation(void *ctx, const struct chat_conversation *c);

/* Prints text for a terminal: control characters become '?', and lines
 * after the first are indented. */
void cli_print_text(const char *text);

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
