/*
 * What the group and channel operations share: their parameters, the
 * permission checks, and the rules that outlive any single operation (a
 * group with members keeps an admin; a group past the fan-out cap turns
 * into a broadcast conversation).
 *
 * Internal to the request handlers.
 */
#ifndef BRIDGE_GROUPS_H
#define BRIDGE_GROUPS_H

#include "change.h"
#include "request_ops.h"
#include "store_members.h"
#include "user_list.h"

#define BRIDGE_TITLE_MAX 100 /* characters */

/* The users listed under key: an array of valid user ids, each kept once,
 * in order. A missing key is an empty list when optional. */
const struct bridge_failure *bridge_param_users(struct bridge_reply *r,
                                                const char *key, bool optional,
                                                struct bridge_user_list *users);

/* "user": a valid user id. */
const struct bridge_failure *bridge_param_user(struct bridge_reply *r,
                                               const char **user);

/* "title": 1 to 100 characters of UTF-8. */
const struct bridge_failure *bridge_param_title(struct bridge_reply *r,
                                                const char **title);

/* no_such_user, naming every user of the list that is not a chat user. */
const struct bridge_failure *
bridge_require_users(struct bridge_reply *r,
                     const struct bridge_user_list *users);

/* A group or channel as an operation found it, and the actor in it. */
struct bridge_group {
	struct bridge_conversation conversation;
	struct bridge_membership actor;
	long long members; /* current */
	long long admins;  /* among them */
};

/*
 * Inside the change: the conversation exists and the actor is a member
 * (not_member otherwise, unless it has admin rights everywhere), and it
 * is a group or channel (bad_request for a direct conversation).
 */
const struct bridge_failure *bridge_group_load(struct bridge_change *c,
                                               struct bridge_group *g);

/* not_admin unless the actor is an admin of g, or has admin rights. */
const struct bridge_failure *
bridge_group_require_admin(struct bridge_change *c,
                           const struct bridge_group *g);

/* The most members a conversation of this kind may have. */
long long bridge_group_member_limit(const struct bridge_reply *r,
                                    const char *kind);

/*
 * After members went: when no current member is an admin any more, the
 * one who joined first (ties: the smallest user id) becomes one. promoted
 * is then that user, else "".
 */
const struct bridge_failure *
bridge_group_keep_an_admin(struct bridge_change *c,
                           char promoted[CHAT_ID_MAX + 1]);

/* Whether a conversation of kind with this many members goes out on its
 * own topic. */
bool bridge_group_is_broadcast(const struct bridge_reply *r, const char *kind,
                               bool broadcast, long long members);

/* Records the switch of a group to broadcast delivery, as the message
 * right after the one that made it grow (a second message of the same
 * request). */
const struct bridge_failure *bridge_group_go_broadcast(struct bridge_change *c);

/*
 * The start of a change only admins may make: the transaction, the answer
 * of a retry (*done: the system message of this type that the request
 * made the first time; its users go under key, or only its seq when key
 * is NULL), and the permission checks. The caller ends the change
 * whatever happens.
 */
const struct bridge_failure *
bridge_group_begin_change(struct bridge_reply *r, struct bridge_change *c,
                          const char *convo, const char *type, const char *key,
                          struct bridge_group *g, bool *done);

/* Writes {"id","op","ok":true,"seq":seq}. */
void bridge_group_answer_seq(struct bridge_reply *r, long long seq);

#endif
