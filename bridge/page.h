/*
 * A page of messages for sync and history: collects serialized messages
 * until the page holds limit messages or would exceed its byte budget. It
 * always takes the first message, however large, so that a client can make
 * progress past it.
 */
#ifndef BRIDGE_PAGE_H
#define BRIDGE_PAGE_H

#include "json_writer.h"
#include "message.h"

#include <stdbool.h>
#include <stddef.h>

struct bridge_page {
	struct json_writer text; /* the messages, back to back */
	size_t *ends;            /* where each message ends in text */
	size_t count;
	size_t cap;
	long long limit;
	size_t budget;      /* bytes the messages array may take */
	bool full;          /* a message was left out for lack of room */
	bool failed;        /* out of memory */
	long long low_seq;  /* smallest seq taken */
	long long high_seq; /* largest seq taken */
};

void bridge_page_init(struct bridge_page *p, long long limit, size_t budget);
void bridge_page_free(struct bridge_page *p);

/* Row callback for bridge_store_read_*: false once the page is full. */
bool bridge_page_add(void *page, const struct bridge_message *m);

/* Writes the messages as a JSON array, in the order they were added or
 * reversed. */
void bridge_page_write(const struct bridge_page *p, struct json_writer *w,
                       bool reversed);

#endif
