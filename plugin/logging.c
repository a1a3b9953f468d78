#include "logging.h"

#include <stdarg.h>
#include <stdio.h>

void chat_logger_init(struct chat_logger *log, chat_log_sink sink)
{
	log->sink = sink;
	log->window = 0;
	log->in_window = 0;
	log->suppressed = 0;
}

static void emit(struct chat_logger *log, enum chat_log_level level,
		 const char *fmt, va_list ap)
{
	char line[1024];

	if (log->sink == NULL)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	log->sink(level, line);
}

void chat_log(struct chat_logger *log, enum chat_log_level level,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(log, level, fmt, ap);
	va_end(ap);
}

/* Starts a new one-second window, reporting what the last one held back. */
static void roll_window(struct chat_logger *log, time_t now)
{
	if (now == log->window)
		return;
	if (log->suppressed > 0)
		chat_log(log, CHAT_LOG_NOTICE,
			 "%d more refusals not logged in the last second",
			 log->suppressed);
	log->window = now;
	log->in_window = 0;
	log->suppressed = 0;
}

void chat_log_refusal(struct chat_logger *log, const char *fmt, ...)
{
	va_list ap;

	roll_window(log, time(NULL));
	if (log->in_window >= CHAT_REFUSALS_PER_SECOND) {
		log->suppressed++;
		return;
	}
	log->in_window++;
	va_start(ap, fmt);
	emit(log, CHAT_LOG_NOTICE, fmt, ap);
	va_end(ap);
}
