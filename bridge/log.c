#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static bool debug_enabled;

/* The second being counted for bridge_log_client(), on the monotonic
 * clock, and what it wrote and held back so far. */
static struct {
	time_t second;
	int written;
	long held_back;
} client_lines;

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

static void write_line(enum bridge_log_level level, const char *fmt, va_list ap)
{
	char stamp[64], text[1024];

	format_timestamp(stamp, sizeof(stamp));
	vsnprintf(text, sizeof(text), fmt, ap);
	neutralise_controls(text);
	/* One fprintf per line keeps lines whole when stderr is shared. */
	fprintf(stderr, "%s chat-bridge %s: %s\n", stamp, level_names[level],
	        text);
}

void bridge_log(enum bridge_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level == BRIDGE_LOG_DEBUG && !debug_enabled)
		return;
	va_start(ap, fmt);
	write_line(level, fmt, ap);
	va_end(ap);
}

static time_t monotonic_second(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/* Closes the counted second once the clock has left it. */
static void roll_client_second(time_t now)
{
	if (now == client_lines.second)
		return;
	if (client_lines.held_back > 0)
		bridge_log(BRIDGE_LOG_WARNING,
		           "%ld more client problems not logged in the last "
		           "second",
		           client_lines.held_back);
	client_lines.second = now;
	client_lines.written = 0;
	client_lines.held_back = 0;
}

void bridge_log_tick(void)
{
	roll_client_second(monotonic_second());
}

void bridge_log_client(enum bridge_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level == BRIDGE_LOG_DEBUG && !debug_enabled)
		return;
	roll_client_second(monotonic_second());
	if (client_lines.written >= BRIDGE_LOG_CLIENT_PER_SECOND) {
		client_lines.held_back++;
		return;
	}
	client_lines.written++;
	va_start(ap, fmt);
	write_line(level, fmt, ap);
	va_end(ap);
}
