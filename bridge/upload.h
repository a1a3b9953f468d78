/*
 * File chunks as they arrive, one per hand-off: each is appended to its
 * upload's partial file when it is the next one, and acknowledged to the
 * uploading connection on its resp topic:
 *
 *   {"id":null,"op":"upload","upload":…,"index":…,"ok":true,"received":N}
 *
 * or "ok":false with an error and, when the upload is known, the count of
 * chunks received to resume from.
 */
#ifndef BRIDGE_UPLOAD_H
#define BRIDGE_UPLOAD_H

#include "handoff.h"
#include "json_writer.h"
#include "media.h"
#include "request.h"
#include "store_media.h"

/* How many chunks of upload u the server holds: all of them once it is
 * finished. Returns 0, or an errno value. */
int bridge_upload_received(const struct bridge_media *m,
                           const struct bridge_upload *u, long long *received);

/* Takes one chunk and writes the framed acknowledgement into out
 * (replacing what it held). Returns 0, or -1 when out of memory. */
int bridge_upload_receive(const struct bridge_request_context *ctx,
                          const struct bridge_chunk *chunk,
                          struct json_writer *out);

#endif
