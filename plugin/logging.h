/*
 * Log lines from the plugin's logic, without depending on the broker: the
 * sink (mosquitto's logger in the broker, a capture in tests) is set by
 * whoever creates the plugin. Refusals caused by clients are rate-limited,
 * so a misbehaving client cannot flood the operator's log.
 */
#ifndef CHAT_LOGGING_H
#define CHAT_LOGGING_H

#include <time.h>

enum chat_log_level {
	CHAT_LOG_ERROR,
	CHAT_LOG_WARNING,
	CHAT_LOG_NOTICE,
	CHAT_LOG_INFO,
	CHAT_LOG_DEBUG,
};

typedef void (*chat_log_sink)(enum chat_log_level level, const char *line);

#define CHAT_REFUSALS_PER_SECOND 20

struct chat_logger {
	chat_log_sink sink;
	time_t window;
	int in_window;
	int suppressed;
};

void chat_logger_init(struct chat_logger *log, chat_log_sink sink);

void chat_log(struct chat_logger *log, enum chat_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A refusal of some client's input, at NOTICE level: at most
 * CHAT_REFUSALS_PER_SECOND lines a second, then one line counting the
 * rest. */
void chat_log_refusal(struct chat_logger *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
