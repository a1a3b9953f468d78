/*
 * Back-off after failed logins, per user name tried from one network
 * address, and per address: each may fail a few times for free; after
 * that every further failure doubles the time during which that user from
 * that address, or anyone from that address, is refused without the token
 * even being checked (up to a maximum). Keyed by address too, so that
 * failures from elsewhere cannot lock a user out of its own address. A
 * successful login clears its record; records are forgotten after ten
 * quiet minutes.
 */
#ifndef CHAT_AUTH_BACKOFF_H
#define CHAT_AUTH_BACKOFF_H

#include <stddef.h>

struct failure_record;

struct chat_auth_backoff {
	struct failure_record *by_key; /* uthash head */
	size_t count;
	long free_per_user;
	long free_per_address;
	long long max_ms;
};

void chat_auth_backoff_init(struct chat_auth_backoff *b, long free_per_user,
			    long free_per_address, long long max_ms);
void chat_auth_backoff_clear(struct chat_auth_backoff *b);

/* How long (ms) a login as user from address must still wait; 0 when it
 * may be tried. Either may be NULL. */
long long chat_auth_backoff_wait(struct chat_auth_backoff *b, const char *user,
				 const char *address, long long now_ms);

/* A login as user (NULL for an invalid name) from address failed. */
void chat_auth_backoff_failed(struct chat_auth_backoff *b, const char *user,
			      const char *address, long long now_ms);

/* A login as user from address succeeded: its earlier failures are
 * forgiven. */
void chat_auth_backoff_succeeded(struct chat_auth_backoff *b,
				 const char *user, const char *address);

/* Forgets records with nothing to enforce any more. */
void chat_auth_backoff_expire(struct chat_auth_backoff *b, long long now_ms);

#endif
