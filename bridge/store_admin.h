/*
 * The admin_requests table: requests the admin CLI leaves for the bridge
 * to run, and the responses the bridge stores for it.
 */
#ifndef BRIDGE_STORE_ADMIN_H
#define BRIDGE_STORE_ADMIN_H

#include "ids.h"
#include "store.h"

#include <stddef.h>

struct bridge_admin_row {
	long long id;
	/* One byte more than an id may have: a longer actor stays invalid
	 * when cut. */
	char actor[CHAT_ID_MAX + 2];
	char *request; /* owned */
};

/* Up to max waiting requests, oldest first, into rows; *count of them.
 * The caller frees each request. */
int bridge_store_admin_waiting(struct bridge_store *s,
                               struct bridge_admin_row *rows, size_t max,
                               size_t *count);

/* Stores the response of request id and marks it done, unless it is done
 * already (or was withdrawn). */
int bridge_store_admin_answer(struct bridge_store *s, long long id,
                              const char *response, size_t len,
                              long long now_ms);

#endif
