/*
 * A list of user ids in the order they were named, each at most once: the
 * members a request names, the users a system message lists.
 */
#ifndef BRIDGE_USER_LIST_H
#define BRIDGE_USER_LIST_H

#include "ids.h"
#include "json_writer.h"

#include <stdbool.h>
#include <stddef.h>
#include <uthash.h>

struct bridge_user {
	char id[CHAT_ID_MAX + 1];
	UT_hash_handle hh;
};

struct bridge_user_list {
	struct bridge_user *items; /* in order */
	size_t count;
	size_t cap; /* fixed when made */
	struct bridge_user *by_id;
};

/* Room for cap users; returns 0, or -1 when out of memory. */
int bridge_user_list_init(struct bridge_user_list *l, size_t cap);
void bridge_user_list_free(struct bridge_user_list *l);

/* Adds id unless it is there already; -1 when the list is full or id
 * too long. */
int bridge_user_list_add(struct bridge_user_list *l, const char *id);

bool bridge_user_list_contains(const struct bridge_user_list *l,
                               const char *id);

/* The ids as a JSON array. */
void bridge_user_list_write(struct json_writer *w,
                            const struct bridge_user_list *l);

/* The ids joined by ", " into out, cut short (ending in "...") when they
 * do not fit: for error messages. */
void bridge_user_list_join(const struct bridge_user_list *l, char *out,
                           size_t outlen);

#endif
