#include "heads.h"

#include <stdlib.h>
#include <string.h>

/*
 * Above this many cached conversations the cache is emptied between
 * transactions and refilled lazily, which bounds memory at one
 * MAX(seq) index lookup per conversation afterwards.
 */
#define HEADS_CACHE_MAX 100000

void bridge_heads_init(struct bridge_heads *h)
{
	memset(h, 0, sizeof(*h));
}

void bridge_heads_forget_all(struct bridge_heads *h)
{
	struct bridge_head *head, *next;

	HASH_ITER(hh, h->by_convo, head, next)
	{
		HASH_DEL(h->by_convo, head);
		free(head);
	}
	h->touched_count = 0;
}

void bridge_heads_free(struct bridge_heads *h)
{
	bridge_heads_forget_all(h);
	free(h->touched);
	bridge_heads_init(h);
}

struct bridge_head *bridge_heads_find(struct bridge_heads *h, const char *convo)
{
	struct bridge_head *head = NULL;

	HASH_FIND_STR(h->by_convo, convo, head);
	return head;
}

struct bridge_head *bridge_heads_add(struct bridge_heads *h, const char *convo,
                                     long long committed)
{
	struct bridge_head *head = calloc(1, sizeof(*head));

	if (head == NULL || strlen(convo) >= sizeof(head->convo)) {
		free(head);
		return NULL;
	}
	strcpy(head->convo, convo);
	head->committed = committed;
	head->tentative = committed;
	HASH_ADD_STR(h->by_convo, convo, head);
	return head;
}

int bridge_heads_touch(struct bridge_heads *h, struct bridge_head *head)
{
	if (head->touched)
		return 0;
	if (h->touched_count == h->touched_cap) {
		size_t cap = h->touched_cap ? h->touched_cap * 2 : 64;
		struct bridge_head **grown =
		    realloc(h->touched, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		h->touched = grown;
		h->touched_cap = cap;
	}
	h->touched[h->touched_count++] = head;
	head->touched = true;
	head->tentative = head->committed;
	return 0;
}

static void end_transaction(struct bridge_heads *h, bool committed)
{
	for (size_t i = 0; i < h->touched_count; i++) {
		struct bridge_head *head = h->touched[i];

		if (committed)
			head->committed = head->tentative;
		head->tentative = head->committed;
		head->touched = false;
	}
	h->touched_count = 0;
	if (HASH_COUNT(h->by_convo) > HEADS_CACHE_MAX)
		bridge_heads_forget_all(h);
}

void bridge_heads_commit(struct bridge_heads *h)
{
	end_transaction(h, true);
}

void bridge_heads_discard(struct bridge_heads *h)
{
	end_transaction(h, false);
}
