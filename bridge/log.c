#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static bool debug_enabled;

static const char *const level_names[] = {
    [BRIDGE_LOG_ERROR] = "error",
    [BRIDGE_LOG_WARNING] = "warning",
    [BRIDGE_LOG_INFO] = "info",
    [BRIDGE_LOG_DEBUG] = "debug",
};

void bridge_log_enable_debug(bool on)
{
	debug_enabled = on;
}

bool bridge_log_debug_enabled(void)
{
	return debug_enabled;
}

/* Writes "2025-01-31T12:00:00.123Z" into out. */
static void format_timestamp(char *out, size_t outlen)
{
	struct timespec now;
	struct tm utc;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &utc);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
	         utc.tm_min, utc.tm_sec, now.tv_nsec / 1000000);
}

/* Ids and client ids come from the network: a control character in one
 * must not be able to forge a second log line. */
static void neutralise_controls(char *text)
{
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void bridge_log(enum bridge_log_level level, const char *fmt, ...)
{
	char stamp[64], text[1024];
	va_list ap;

	if (level == BRIDGE_LOG_DEBUG && !debug_enabled)
		return;
	format_timestamp(stamp, sizeof(stamp));
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	neutralise_controls(text);
	/* One fprintf per line keeps lines whole when stderr is shared. */
	fprintf(stderr, "%s chat-bridge %s: %s\n", stamp, level_names[level],
	        text);
}
