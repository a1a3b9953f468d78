/*
 * Broadcast conversations: messages go out once on {prefix}/c/{convo}, and
 * the broker asks, for every subscriber and every message, whether that
 * subscriber may receive it. This runs on the broker's only thread once
 * per subscriber per message, so it reads nothing but memory: the cached
 * members and the seq at the start of the payload.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* The bridge writes every message starting {"convo":"…","seq":N; the seq
 * is read from there without parsing the whole payload. */
static bool seq_of(const char *payload, size_t len, long long *seq)
{
	static const char key[] = "\"seq\":";
	size_t window = len < 128 ? len : 128;
	const char *p = memmem(payload, window, key, sizeof(key) - 1);
	long long v = 0;

	if (p == NULL)
		return false;
	p += sizeof(key) - 1;
	if (p >= payload + len || *p < '0' || *p > '9')
		return false;
	while (p < payload + len && *p >= '0' && *p <= '9' &&
	       v < 900719925474099LL)
		v = v * 10 + (*p++ - '0');
	*seq = v;
	return true;
}

bool chat_channel_allows(struct chat_plugin *p, const char *username,
			 const char *convo, const void *payload, size_t len)
{
	struct chat_convo *c;
	long long seq;

	/* A delivery: only from memory. The plugin loaded the conversation
	 * to publish the message, so it is there unless just evicted. */
	if (payload) {
		c = chat_members_peek(&p->members, convo);
		return c && chat_convo_is_broadcast(c) &&
		       seq_of(payload, len, &seq) &&
		       chat_convo_sees(c, username, seq);
	}
	/* A subscription: may read the store once. Any member may subscribe,
	 * also before the conversation turns broadcast, so as not to miss
	 * the switch. */
	return chat_member_check(p, convo, username, &c) == CHAT_OK;
}
