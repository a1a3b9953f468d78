#include "watermarks.h"

#include <stdlib.h>
#include <string.h>

void bridge_watermarks_init(struct bridge_watermarks *w)
{
	w->by_convo = NULL;
}

void bridge_watermarks_free(struct bridge_watermarks *w)
{
	struct bridge_watermark *mark, *next;

	HASH_ITER(hh, w->by_convo, mark, next)
	{
		HASH_DEL(w->by_convo, mark);
		free(mark);
	}
}

static struct bridge_watermark *find_or_add(struct bridge_watermarks *w,
                                            const char *convo)
{
	struct bridge_watermark *mark = NULL;

	HASH_FIND_STR(w->by_convo, convo, mark);
	if (mark != NULL)
		return mark;
	if (strlen(convo) >= sizeof(mark->convo))
		return NULL;
	mark = calloc(1, sizeof(*mark));
	if (mark == NULL)
		return NULL;
	strcpy(mark->convo, convo);
	HASH_ADD_STR(w->by_convo, convo, mark);
	return mark;
}

int bridge_watermarks_raise(struct bridge_watermarks *w, const char *convo,
                            long long seq)
{
	struct bridge_watermark *mark = find_or_add(w, convo);

	if (mark == NULL)
		return -1;
	if (!mark->held && seq > mark->acknowledged)
		mark->acknowledged = seq;
	return 0;
}

int bridge_watermarks_hold(struct bridge_watermarks *w, const char *convo)
{
	struct bridge_watermark *mark = find_or_add(w, convo);

	if (mark == NULL)
		return -1;
	mark->held = true;
	return 0;
}

bool bridge_watermarks_pending(const struct bridge_watermarks *w)
{
	const struct bridge_watermark *mark;

	for (mark = w->by_convo; mark != NULL; mark = mark->hh.next)
		if (mark->acknowledged > mark->stored)
			return true;
	return false;
}

int bridge_watermarks_write(struct bridge_watermarks *w,
                            bridge_watermark_write_fn write, void *ctx)
{
	struct bridge_watermark *mark;

	for (mark = w->by_convo; mark != NULL; mark = mark->hh.next) {
		int rc;

		if (mark->acknowledged <= mark->stored)
			continue;
		rc = write(ctx, mark->convo, mark->acknowledged);
		if (rc != 0)
			return rc;
		mark->writing = mark->acknowledged;
	}
	return 0;
}

void bridge_watermarks_commit(struct bridge_watermarks *w)
{
	struct bridge_watermark *mark, *next;

	HASH_ITER(hh, w->by_convo, mark, next)
	{
		if (mark->writing > mark->stored)
			mark->stored = mark->writing;
		mark->writing = 0;
		/* A held one is kept, or a later raise would pass it. */
		if (!mark->held && mark->acknowledged <= mark->stored) {
			HASH_DEL(w->by_convo, mark);
			free(mark);
		}
	}
}

void bridge_watermarks_discard(struct bridge_watermarks *w)
{
	struct bridge_watermark *mark;

	for (mark = w->by_convo; mark != NULL; mark = mark->hh.next)
		mark->writing = 0;
}
