#include "kicks.h"

#include <stdlib.h>
#include <string.h>

int chat_kicks_add(struct chat_kicks *k, const char *client_id)
{
	char *copy;

	if (k->count == k->capacity) {
		size_t capacity = k->capacity ? k->capacity * 2 : 8;
		char **grown = realloc(k->client_ids,
				       capacity * sizeof(*k->client_ids));

		if (grown == NULL)
			return -1;
		k->client_ids = grown;
		k->capacity = capacity;
	}
	copy = strdup(client_id);
	if (copy == NULL)
		return -1;
	k->client_ids[k->count++] = copy;
	return 0;
}

void chat_kicks_clear(struct chat_kicks *k)
{
	for (size_t i = 0; i < k->count; i++)
		free(k->client_ids[i]);
	free(k->client_ids);
	memset(k, 0, sizeof(*k));
}
