#include "retention.h"

#include "log.h"
#include "store_media.h"

#include <stdlib.h>
#include <string.h>

/* Ids read before anything is deleted: no statement stays open over the
 * deletions. */
struct id_list {
	char (*ids)[BRIDGE_BLOB_ID_LEN + 1];
	size_t count;
};

static bool collect(void *ctx, const char *id)
{
	struct id_list *l = ctx;

	if (l->count == BRIDGE_SWEEP_BATCH || strlen(id) > BRIDGE_BLOB_ID_LEN)
		return l->count < BRIDGE_SWEEP_BATCH;
	strcpy(l->ids[l->count++], id);
	return true;
}

/* Deletes the due files' rows, or marks them kept; files[] receives the
 * ones to delete from the folder. */
static int sweep_files(struct bridge_store *s, long long before,
                       struct id_list *due, struct id_list *files,
                       struct bridge_sweep *out)
{
	int rc = bridge_store_unkept_blobs(s, before, BRIDGE_SWEEP_BATCH,
	                                   collect, due);

	out->more = due->count == BRIDGE_SWEEP_BATCH;
	for (size_t i = 0; i < due->count && rc == SQLITE_OK; i++) {
		const char *blob = due->ids[i];
		bool referenced;

		rc = bridge_store_blob_referenced(s, blob, &referenced);
		if (rc == SQLITE_OK && referenced) {
			rc = bridge_store_keep_blob(s, blob);
			out->files_kept++;
		} else if (rc == SQLITE_OK) {
			rc = bridge_store_delete_blob(s, blob);
			collect(files, blob);
		}
	}
	return rc;
}

static int sweep_uploads(struct bridge_store *s, long long before,
                         struct id_list *uploads, struct bridge_sweep *out)
{
	int rc = bridge_store_stale_uploads(s, before, BRIDGE_SWEEP_BATCH,
	                                    collect, uploads);

	if (uploads->count == BRIDGE_SWEEP_BATCH)
		out->more = true;
	for (size_t i = 0; i < uploads->count && rc == SQLITE_OK; i++)
		rc = bridge_store_delete_upload(s, uploads->ids[i]);
	return rc;
}

static void remove_files(const struct bridge_media *m,
                         const struct id_list *files,
                         const struct id_list *uploads)
{
	for (size_t i = 0; i < files->count; i++)
		if (bridge_media_remove_blob(m, files->ids[i]) != 0)
			bridge_error("cannot delete file %s of the blobs "
			             "folder; delete it by hand",
			             files->ids[i]);
	for (size_t i = 0; i < uploads->count; i++)
		if (bridge_media_remove_partial(m, uploads->ids[i]) != 0)
			bridge_error("cannot delete upload %s of the partial "
			             "folder; delete it by hand",
			             uploads->ids[i]);
}

static int sweep(struct bridge_store *s, const struct bridge_media *m,
                 long long now_ms, struct id_list lists[3],
                 struct bridge_sweep *out)
{
	long long before = now_ms - m->retention_ms;
	int rc = bridge_store_begin(s);

	if (rc == SQLITE_OK)
		rc = sweep_files(s, before, &lists[0], &lists[1], out);
	if (rc == SQLITE_OK)
		rc = sweep_uploads(s, before, &lists[2], out);
	/* Watermarks and presence ride along, as with batches. */
	if (rc == SQLITE_OK)
		rc = bridge_store_write_deferred(s);
	if (rc == SQLITE_OK)
		rc = bridge_store_commit(s);
	if (rc != SQLITE_OK) {
		bridge_error("the retention sweep failed: %s (%s); nothing "
		             "deleted",
		             sqlite3_errstr(rc), bridge_store_error(s));
		bridge_store_rollback(s);
		return rc;
	}
	out->files_deleted = lists[1].count;
	out->uploads_deleted = lists[2].count;
	remove_files(m, &lists[1], &lists[2]);
	return SQLITE_OK;
}

int bridge_retention_sweep(struct bridge_store *s, const struct bridge_media *m,
                           long long now_ms, struct bridge_sweep *out)
{
	struct id_list lists[3]; /* due files, files to delete, uploads */
	int rc = SQLITE_NOMEM;

	memset(out, 0, sizeof(*out));
	memset(lists, 0, sizeof(lists));
	for (int i = 0; i < 3; i++)
		if ((lists[i].ids = calloc(BRIDGE_SWEEP_BATCH,
		                           sizeof(*lists[i].ids))) == NULL)
			goto done;
	rc = sweep(s, m, now_ms, lists, out);
	if (rc == SQLITE_OK && (out->files_deleted || out->uploads_deleted))
		bridge_info("retention: deleted %zu files and %zu unfinished "
		            "uploads after %lld s",
		            out->files_deleted, out->uploads_deleted,
		            m->retention_ms / 1000);
	if (rc != SQLITE_OK)
		memset(out, 0, sizeof(*out));
done:
	for (int i = 0; i < 3; i++)
		free(lists[i].ids);
	return rc;
}
