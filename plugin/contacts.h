/*
 * Who may see whose presence: users who share a conversation (both still
 * members), unless either of them hides their presence (hiding is
 * reciprocal). A user always sees its own.
 *
 * Answers are cached for a short while per (viewer, subject) pair and per
 * user's hiding choice, and dropped at once when the bridge announces a
 * change of members or of a user's settings.
 */
#ifndef CHAT_CONTACTS_H
#define CHAT_CONTACTS_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>

struct contact_pair;
struct contact_hiding;

struct chat_contacts {
	struct contact_pair *pairs;    /* uthash head */
	struct contact_pair *recent;   /* least recently used first */
	struct contact_hiding *hiding; /* uthash head */
	size_t pair_count;
	size_t capacity;
	long long ttl_ms;
	struct chat_store *store;
};

void chat_contacts_init(struct chat_contacts *c, struct chat_store *store,
			size_t capacity, long long ttl_ms);
void chat_contacts_clear(struct chat_contacts *c);

/* May viewer see subject's presence? False when the store cannot say. */
bool chat_contacts_may_see(struct chat_contacts *c, const char *viewer,
			   const char *subject, long long now_ms);

/* Forget everything: members changed somewhere. */
void chat_contacts_forget_all(struct chat_contacts *c);

/* Forget one user's hiding choice: its settings changed. */
void chat_contacts_forget_user(struct chat_contacts *c, const char *user);

#endif
