/*
 * Everything the bridge reads from the plugin, which carries what clients
 * sent: message, request, receipt, presence and file-chunk hand-offs,
 * processed as the bridge does against a real SQLite store and files
 * folder. Requests reach every operation, the key bundles and device
 * lists it verifies among them. The first input byte picks the kind.
 */
#include "bridge/commit.h"
#include "bridge/handoff.h"
#include "bridge/media.h"
#include "bridge/receipts.h"
#include "bridge/request.h"
#include "bridge/store.h"
#include "bridge/upload.h"
#include "db.h"
#include "token.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct bridge_store *store;
static struct chat_options opts;
static struct bridge_media media;
static struct bridge_request_context context;

static void create_store(const char *path, sqlite3 **db)
{
	char err[256];

	if (chat_db_open(path, CHAT_DB_READ_WRITE, "off", 1000, db, err,
			 sizeof(err)) != SQLITE_OK ||
	    chat_db_migrate(*db, err, sizeof(err)) != SQLITE_OK)
		abort();
	sqlite3_exec(*db,
		     "INSERT INTO users(id, created_at) VALUES ('alice', 0),"
		     " ('bob', 0), ('carol', 0);"
		     "INSERT INTO devices(user_id, token_hash, created_at)"
		     " VALUES ('alice', x'01', 0), ('bob', x'02', 0);"
		     "INSERT INTO conversations(id, kind, created_at) VALUES"
		     " ('c1', 'direct', 0), ('g1', 'group', 0);"
		     "INSERT INTO members(convo_id, user_id, role) VALUES"
		     " ('c1', 'alice', 'member'), ('c1', 'bob', 'member'),"
		     " ('g1', 'alice', 'admin'), ('g1', 'bob', 'member');",
		     NULL, NULL, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/chat-fuzz-bridge-XXXXXX";
	sqlite3 *db;

	(void)argc;
	(void)argv;
	if (chat_crypto_init() != 0 || mkdtemp(dir) == NULL)
		abort();
	chat_options_defaults(&opts);
	snprintf(opts.db_path, sizeof(opts.db_path), "%s/chat.db", dir);
	create_store(opts.db_path, &db);
	if (bridge_store_open(db, &store) != 0 ||
	    bridge_media_open(&media, opts.db_path) != 0)
		abort();
	context = (struct bridge_request_context){store, &opts, &media};
	return 0;
}

static void messages(const char *text, size_t len)
{
	struct bridge_batch batch = {0};
	struct bridge_entries entries = {0};

	if (bridge_handoff_messages(text, len, &batch) > 0)
		bridge_commit(store, &batch, &entries, NULL, NULL);
	bridge_entries_clear(&entries);
	bridge_batch_clear(&batch);
}

static void requests(const char *text, size_t len)
{
	struct bridge_request_queue queue = {0};
	struct bridge_entries entries = {0};
	struct json_writer out;

	json_writer_init(&out);
	bridge_handoff_requests(text, len, &queue);
	for (size_t i = 0; i < queue.count; i++) {
		json_writer_reset(&out);
		bridge_request_answer(&context, &queue.requests[i], &out,
				      &entries);
	}
	json_writer_free(&out);
	bridge_entries_clear(&entries);
	bridge_request_queue_clear(&queue);
}

static void receipts(const char *text, size_t len)
{
	struct bridge_receipt_queue queue = {0};
	struct bridge_entries entries = {0};

	if (bridge_handoff_receipts(text, len, &queue) > 0)
		bridge_receipts_apply(store, &queue, &entries);
	bridge_entries_clear(&entries);
	bridge_receipt_queue_clear(&queue);
}

static void presence(const char *text, size_t len)
{
	struct bridge_presence_queue queue = {0};

	bridge_handoff_presence(text, len, &queue);
	bridge_presence_queue_clear(&queue);
}

static void chunk(const char *text, size_t len)
{
	struct bridge_chunk_queue queue = {0};
	struct json_writer out;

	json_writer_init(&out);
	if (bridge_handoff_chunk(text, len, &queue) > 0)
		bridge_upload_receive(&context, &queue.chunks[0], &out);
	json_writer_free(&out);
	bridge_chunk_queue_clear(&queue);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const kinds[])(const char *, size_t) = {
		messages, requests, receipts, presence, chunk,
	};

	if (size < 1)
		return 0;
	kinds[data[0] % (sizeof(kinds) / sizeof(kinds[0]))](
		(const char *)data + 1, size - 1);
	return 0;
}
