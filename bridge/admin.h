/*
 * Admin requests: the admin CLI's group commands. chatctl writes a
 * request into admin_requests and waits; the bridge, the only writer of
 * messages, runs it like a client's request, as the row's actor with
 * admin rights in every conversation, and stores the response (a change
 * stores it in its own transaction, so a request is never applied twice).
 *
 * The actor is "$admin", or a user: a user actor makes the changes under
 * its own name, creates groups as their first admin and leaves only what
 * it is in. "$admin" is nobody's member: a group it creates gets the
 * first member listed as its admin.
 */
#ifndef BRIDGE_ADMIN_H
#define BRIDGE_ADMIN_H

#include "commit.h"
#include "options.h"
#include "store.h"

#include <stddef.h>

/* Requests taken from the table per call. */
#define BRIDGE_ADMIN_BATCH 8

/*
 * Runs up to BRIDGE_ADMIN_BATCH waiting requests, oldest first, and
 * appends what their changes announce to announce. Returns how many were
 * answered; a request that could not be (the store busy, no memory)
 * stays waiting for the next call.
 */
size_t bridge_admin_run(struct bridge_store *s, const struct chat_options *opts,
                        struct bridge_entries *announce);

#endif
