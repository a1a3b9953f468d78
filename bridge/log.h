/*
 * The bridge's log: one line per event on stderr, prefixed with a UTC
 * timestamp, the program name and the level, so an operator can grep it.
 */
#ifndef BRIDGE_LOG_H
#define BRIDGE_LOG_H

#include <stdbool.h>

enum bridge_log_level {
	BRIDGE_LOG_ERROR,
	BRIDGE_LOG_WARNING,
	BRIDGE_LOG_INFO,
	BRIDGE_LOG_DEBUG,
};

/* Debug lines are dropped unless enabled (-v). */
void bridge_log_enable_debug(bool on);
bool bridge_log_debug_enabled(void);

void bridge_log(enum bridge_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define bridge_error(...)   bridge_log(BRIDGE_LOG_ERROR, __VA_ARGS__)
#define bridge_warning(...) bridge_log(BRIDGE_LOG_WARNING, __VA_ARGS__)
#define bridge_info(...)    bridge_log(BRIDGE_LOG_INFO, __VA_ARGS__)
#define bridge_debug(...)   bridge_log(BRIDGE_LOG_DEBUG, __VA_ARGS__)

/*
 * Problems a client caused (a malformed hand-off, a refused request) can
 * come by the thousand. Of those lines at most BRIDGE_LOG_CLIENT_PER_SECOND
 * are written in any one second; the rest are counted, and the count is
 * written in one line once that second is over. Lines written with
 * bridge_log() (start-up, shutdown, connection, database) are never held
 * back.
 */
#define BRIDGE_LOG_CLIENT_PER_SECOND 20

void bridge_log_client(enum bridge_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes the count of the lines held back in a second that is over; call
 * it often (the service does, on every turn of its loop). */
void bridge_log_tick(void);

#define bridge_client_error(...)                                               \
	bridge_log_client(BRIDGE_LOG_ERROR, __VA_ARGS__)
#define bridge_client_warning(...)                                             \
	bridge_log_client(BRIDGE_LOG_WARNING, __VA_ARGS__)
#define bridge_client_info(...) bridge_log_client(BRIDGE_LOG_INFO, __VA_ARGS__)

#endif
