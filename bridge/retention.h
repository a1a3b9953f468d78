/*
 * The retention sweep: files no message refers to are deleted once
 * retention_ms have passed since they were last uploaded, and uploads
 * never finished once retention_ms have passed since they began. A file
 * some message refers to is marked kept the first time the sweep finds
 * it, and never looked at again, so each sweep reads only what became due
 * since the last one: an index range, at most a batch of rows.
 *
 * A message may still name a file after the file went (it was sent after
 * the sweep, or named a file never uploaded): the reference then keeps
 * nothing, and downloads answer not_member.
 */
#ifndef BRIDGE_RETENTION_H
#define BRIDGE_RETENTION_H

#include "media.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

/* Files and uploads one sweep handles at most. */
#define BRIDGE_SWEEP_BATCH 256

struct bridge_sweep {
	size_t files_deleted;
	size_t files_kept; /* newly found referenced */
	size_t uploads_deleted;
	bool more; /* a batch was full: sweep again soon */
};

/*
 * Sweeps as of now_ms: the rows go in one transaction, the files once it
 * has committed (a file that cannot be deleted is logged and left, with
 * no row naming it). Returns SQLITE_OK or the error that stopped it
 * (logged; nothing deleted).
 */
int bridge_retention_sweep(struct bridge_store *s, const struct bridge_media *m,
                           long long now_ms, struct bridge_sweep *out);

#endif
