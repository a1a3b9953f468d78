/*
 * System messages: the changes to a group or channel, recorded in its log
 * like any message, with a type and an event object instead of a body.
 *
 *   created    {"title","kind","members":[...]}
 *   added      {"users":[...]}
 *   removed    {"users":[...]}  ("promoted" too when the last admin went)
 *   left       {}               ({"promoted":u} when the last admin left)
 *   role       {"user","role"}
 *   renamed    {"title"}
 *   broadcast  {"topic"}
 *
 * Their sender is whoever made the change, their cmid "op " and the id of
 * the request (no client cmid has a space), so a retried request finds
 * what it did the first time.
 */
#ifndef BRIDGE_SYSTEM_MESSAGE_H
#define BRIDGE_SYSTEM_MESSAGE_H

#include "message.h"

#define BRIDGE_CMID_PREFIX "op "

/* Writes "op <request id>", and " <suffix>" when suffix is not NULL. */
void bridge_system_cmid(char out[BRIDGE_CMID_MAX + 1], const char *request,
                        const char *suffix);

/*
 * The users a stored system message must reach besides those who may see
 * it, as a JSON array: whoever it removed, or whoever left. *also is NULL
 * when there is nobody. Returns 0, or -1 when out of memory.
 */
int bridge_system_also(const struct bridge_message *m, char **also);

#endif
