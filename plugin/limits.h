/*
 * Per-user rate limits: token buckets refilled continuously, one for
 * messages and one for requests. A user whose bucket is empty gets
 * `rate_limited` until it refills; nobody else is affected.
 */
#ifndef CHAT_LIMITS_H
#define CHAT_LIMITS_H

#include <stdbool.h>

struct user_buckets;

struct chat_rate {
	double per_second;
	double burst;
};

struct chat_limits {
	struct user_buckets *by_user; /* uthash head */
	struct chat_rate send;
	struct chat_rate request;
};

void chat_limits_init(struct chat_limits *l, struct chat_rate send,
		      struct chat_rate request);
void chat_limits_clear(struct chat_limits *l);

/* Takes one token from user's message bucket at now_ms; false when empty
 * (or out of memory). */
bool chat_limits_take_send(struct chat_limits *l, const char *user,
			   long long now_ms);
bool chat_limits_take_request(struct chat_limits *l, const char *user,
			      long long now_ms);

/* Forgets users whose buckets have been full for a while, so the table
 * holds only recently active users. */
void chat_limits_expire(struct chat_limits *l, long long now_ms);

#endif
