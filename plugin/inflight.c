#include "inflight.h"

#include <stdlib.h>

int chat_inflight_init(struct chat_inflight *f, size_t cap)
{
	f->started_ms = calloc(cap, sizeof(*f->started_ms));
	f->cap = f->started_ms ? cap : 0;
	f->head = 0;
	f->count = 0;
	return f->started_ms ? 0 : -1;
}

void chat_inflight_free(struct chat_inflight *f)
{
	free(f->started_ms);
	f->started_ms = NULL;
	f->cap = 0;
	f->count = 0;
}

bool chat_inflight_start(struct chat_inflight *f, long long now_ms)
{
	if (f->count >= f->cap)
		return false;
	f->started_ms[(f->head + f->count) % f->cap] = now_ms;
	f->count++;
	return true;
}

void chat_inflight_answered(struct chat_inflight *f)
{
	if (f->count == 0)
		return;
	f->head = (f->head + 1) % f->cap;
	f->count--;
}

size_t chat_inflight_expire(struct chat_inflight *f, long long now_ms,
			    long long timeout_ms)
{
	size_t retired = 0;

	while (f->count > 0 && now_ms - f->started_ms[f->head] > timeout_ms) {
		chat_inflight_answered(f);
		retired++;
	}
	return retired;
}

void chat_inflight_clear(struct chat_inflight *f)
{
	f->head = 0;
	f->count = 0;
}
