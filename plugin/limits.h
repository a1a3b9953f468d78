/*
 * Per-user rate limits: token buckets refilled continuously, one each for
 * messages, requests, receipts, file chunks and new groups. A user whose
 * bucket is empty gets `rate_limited` until it refills; nobody else is
 * affected.
 */
#ifndef CHAT_LIMITS_H
#define CHAT_LIMITS_H

#include <stdbool.h>

enum chat_limit_kind {
	CHAT_LIMIT_SEND,
	CHAT_LIMIT_REQUEST,
	CHAT_LIMIT_RECEIPT,
	CHAT_LIMIT_UPLOAD, /* file chunks, uploaded or downloaded */
	CHAT_LIMIT_GROUP_CREATE, /* groups and channels created */
	CHAT_LIMIT_KINDS,
};

struct chat_rate {
	double per_second;
	double burst;
};

struct user_buckets;

struct chat_limits {
	struct user_buckets *by_user; /* uthash head */
	struct chat_rate rates[CHAT_LIMIT_KINDS];
};

void chat_limits_init(struct chat_limits *l,
		      const struct chat_rate rates[CHAT_LIMIT_KINDS]);
void chat_limits_clear(struct chat_limits *l);

/* Takes one token from user's bucket of that kind at now_ms; false when
 * empty (or out of memory). */
bool chat_limits_take(struct chat_limits *l, enum chat_limit_kind kind,
		      const char *user, long long now_ms);

/* Forgets users idle for a minute whose buckets would all be full again
 * by now, so the table holds only recently active users. */
void chat_limits_expire(struct chat_limits *l, long long now_ms);

#endif
