/*
 * Announcements on bridge_committed: the entries of a committed batch, one
 * JSON object per line, split so that no publish grows past a size bound.
 * A message entry's line names the message by a head ({"convo","seq",
 * "from","cmid","type"?}) and the next line is the message itself, exactly
 * as clients receive it, so the plugin publishes it without parsing it.
 * The entries, as one object each (the message in full):
 *
 *   {"msg":{...}}                 new message, for every member
 *   {"msg":{...},"also":[...]}    system message, also for these users
 *   {"msg":{...},"to":"alice"}    duplicate, for its sender only
 *   {"reject":{"convo","from","cmid","client","code","message"}}
 *   {"membership":"c_..."}        members changed; always in the same
 *                                 array as the message that follows it
 *   {"event":{...},"to":"alice"}  receipt or cursor, for alice's devices
 *   {"settings":"alice"}          alice's presence settings changed
 *   {"keys":{"user","identity","version","updated"},"user":"alice"}
 *                                 alice's identity key or device list
 *                                 changed: published on her keys topic
 */
#ifndef BRIDGE_ANNOUNCE_H
#define BRIDGE_ANNOUNCE_H

#include "commit.h"
#include "json_writer.h"

#include <stddef.h>

/* Receives one announcement, made of the count entries from first on;
 * returns 0, or -1 to stop. */
typedef int (*bridge_chunk_fn)(void *ctx, const char *json, size_t len,
                               const struct bridge_entry *first, size_t count);

/* Writes one entry as a JSON object, the message in full (the logical
 * form above, as tests compare it). */
void bridge_announce_entry(struct json_writer *w, const struct bridge_entry *e);

/*
 * Hands the entries, in order, to fn as announcements of at most
 * max_bytes each;
 * an entry bigger than that on its own still goes out, alone. Returns 0, or
 * -1 when out of memory or fn failed.
 */
int bridge_announce(const struct bridge_entries *entries, size_t max_bytes,
                    bridge_chunk_fn fn, void *ctx);

#endif
