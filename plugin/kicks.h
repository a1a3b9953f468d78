/*
 * Client ids to disconnect, decided by the plugin's logic and carried out
 * by plugin/broker.c with mosquitto_kick_client_by_clientid.
 */
#ifndef CHAT_KICKS_H
#define CHAT_KICKS_H

#include <stddef.h>

struct chat_kicks {
	char **client_ids;
	size_t count;
	size_t capacity;
};

/* Returns 0, or -1 when out of memory. */
int chat_kicks_add(struct chat_kicks *k, const char *client_id);

/* Frees the ids; the list can be used again. */
void chat_kicks_clear(struct chat_kicks *k);

#endif
