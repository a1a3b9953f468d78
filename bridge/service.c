#include "service.h"

#include "admin.h"
#include "commit.h"
#include "db.h"
#include "log.h"
#include "receipts.h"
#include "request.h"
#include "retention.h"
#include "upload.h"

#include <string.h>

#define WAIT_MS 100
/* The plugin parses each announcement on the broker's thread: keep them
 * moderate. */
#define ANNOUNCEMENT_MAX_BYTES (256 * 1024)
/* How long shutdown waits for the broker to take what was published. */
#define SHUTDOWN_FLUSH_MS 5000
/* Watermarks ride on batches; after this long without one they are
 * written on their own. */
#define WATERMARK_IDLE_MS 1000
/* At start-up, announce again at most this many of a conversation's
 * newest unacknowledged messages; clients sync the rest. */
#define RECOVERY_PER_CONVERSATION 1000
/* How often the admin CLI's requests are looked for. */
#define ADMIN_POLL_MS 100
/* File chunks drained at most before they are stored (a chunk is up to
 * 256 KiB; the plugin keeps at most max_requests in flight anyway). */
#define CHUNKS_PER_ROUND 64
/* How often the retention sweep runs (a quarter of the retention period,
 * within these bounds), and how soon again after a full batch. */
#define SWEEP_INTERVAL_MIN_MS 1000
#define SWEEP_INTERVAL_MAX_MS 60000
#define SWEEP_AGAIN_MS        1000

void bridge_service_deliver(void *ctx, const char *topic, const void *payload,
                            size_t len)
{
	struct bridge_service *svc = ctx;

	if (strcmp(topic, svc->topics->bridge_messages) == 0)
		bridge_handoff_messages(payload, len, &svc->batch);
	else if (strcmp(topic, svc->topics->bridge_requests) == 0)
		bridge_handoff_requests(payload, len, &svc->requests);
	else if (strcmp(topic, svc->topics->bridge_receipts) == 0)
		bridge_handoff_receipts(payload, len, &svc->receipts);
	else if (strcmp(topic, svc->topics->bridge_presence) == 0)
		bridge_handoff_presence(payload, len, &svc->presence);
	else if (strcmp(topic, svc->topics->bridge_upload) == 0)
		bridge_handoff_chunk(payload, len, &svc->chunks);
	else {
		bridge_debug("ignored %zu bytes on %s", len, topic);
		return;
	}
	svc->deliveries++;
}

static bool has_work(const struct bridge_service *svc)
{
	return svc->batch.count > 0 || svc->requests.count > 0 ||
	       svc->receipts.count > 0 || svc->presence.count > 0 ||
	       svc->chunks.count > 0;
}

/* Keeps reading while hand-offs keep coming, so that one transaction
 * covers everything that arrived together. */
static void drain(struct bridge_service *svc)
{
	size_t max = (size_t)svc->opts->batch_max;

	while (svc->batch.count < max && svc->requests.count < max &&
	       svc->receipts.count < max && svc->presence.count < max &&
	       svc->chunks.count < CHUNKS_PER_ROUND) {
		size_t before = svc->deliveries;

		bridge_connection_poll(svc->connection, 0);
		if (svc->deliveries == before)
			return;
	}
}

/* While the database is locked: keep the MQTT session alive. A second
 * stop request gives up on the batch. */
static bool wait_for_lock(void *ctx)
{
	struct bridge_service *svc = ctx;

	bridge_connection_poll(svc->connection, WAIT_MS);
	return *svc->stop_requests < 2;
}

static enum bridge_publish_status
publish_announcement(void *ctx, const char *json, size_t len, int *mid)
{
	struct bridge_service *svc = ctx;

	return bridge_connection_try_publish(
	    svc->connection, svc->topics->bridge_committed, json, len, mid);
}

void bridge_service_init(struct bridge_service *svc)
{
	bridge_announcements_init(&svc->announcements, svc->store,
	                          ANNOUNCEMENT_MAX_BYTES, publish_announcement,
	                          svc);
}

void bridge_service_acknowledged(void *ctx, int mid, bool accepted)
{
	struct bridge_service *svc = ctx;

	bridge_announcements_acknowledged(&svc->announcements, mid, accepted);
}

static void commit_and_announce(struct bridge_service *svc,
                                const struct bridge_batch *batch)
{
	struct bridge_entries entries;
	enum bridge_commit_status status;

	if (batch->count == 0)
		return;
	status = bridge_commit(svc->store, batch, &entries, wait_for_lock, svc);
	if (status == BRIDGE_COMMIT_NO_MEMORY) {
		bridge_error("out of memory committing %zu messages; their "
		             "senders will resend them",
		             batch->count);
		return;
	}
	if (status == BRIDGE_COMMIT_DONE)
		svc->last_write_ms = chat_monotonic_ms();
	if (bridge_announcements_add(&svc->announcements, &entries) != 0)
		bridge_error("out of memory announcing a batch of %zu "
		             "messages; members get them by sync, and the "
		             "next start announces them again",
		             batch->count);
	bridge_entries_clear(&entries);
	bridge_announcements_send(&svc->announcements);
}

/* Queues what committed changes or receipts announce, and offers it. */
static void announce(struct bridge_service *svc, struct bridge_entries *entries,
                     const char *what)
{
	if (entries->count == 0)
		return;
	if (bridge_announcements_add(&svc->announcements, entries) != 0)
		bridge_error("out of memory announcing %s; members get them by "
		             "sync, and the next start announces them again",
		             what);
	bridge_entries_clear(entries);
	bridge_announcements_send(&svc->announcements);
}

static void apply_receipts(struct bridge_service *svc,
                           struct bridge_receipt_queue *receipts)
{
	struct bridge_entries events = {NULL, 0, 0};

	if (receipts->count == 0)
		return;
	if (bridge_receipts_apply(svc->store, receipts, &events) == SQLITE_OK)
		svc->last_write_ms = chat_monotonic_ms();
	announce(svc, &events, "receipt events");
}

/*
 * Presence rides on the batch's transaction when there is one; what is
 * still unwritten is written before the requests are answered, so that a
 * presence request sees it.
 */
static void note_presence(struct bridge_service *svc,
                          const struct bridge_presence_queue *presence)
{
	for (size_t i = 0; i < presence->count; i++) {
		const struct bridge_presence *p = &presence->changes[i];

		if (bridge_store_note_presence(svc->store, p->user, p->online,
		                               p->last_seen) != SQLITE_OK)
			bridge_error("out of memory: the presence of %s is not "
			             "stored",
			             p->user);
	}
}

static void write_presence(struct bridge_service *svc)
{
	int rc;

	if (!bridge_store_presence_pending(svc->store))
		return;
	rc = bridge_store_flush_deferred(svc->store);
	if (rc == SQLITE_OK)
		svc->last_write_ms = chat_monotonic_ms();
	else
		bridge_warning("cannot store presence: %s; retrying with the "
		               "next transaction",
		               sqlite3_errstr(rc));
}

static struct bridge_request_context request_context(struct bridge_service *svc)
{
	struct bridge_request_context ctx = {svc->store, svc->opts, svc->media};

	return ctx;
}

/* Each chunk is acknowledged to the connection that sent it. */
static void store_chunks(struct bridge_service *svc,
                         const struct bridge_chunk_queue *chunks)
{
	struct bridge_request_context ctx = request_context(svc);
	struct json_writer reply;

	json_writer_init(&reply);
	for (size_t i = 0; i < chunks->count; i++) {
		if (bridge_upload_receive(&ctx, &chunks->chunks[i], &reply) !=
		    0) {
			bridge_error("out of memory acknowledging a file chunk "
			             "of %s",
			             chunks->chunks[i].user);
			continue;
		}
		bridge_connection_publish(svc->connection,
		                          svc->topics->bridge_reply, reply.data,
		                          reply.len);
	}
	json_writer_free(&reply);
}

/*
 * A change is announced before its answer goes out: a member just added
 * may send at once, and the plugin must know it by then.
 */
static void answer(struct bridge_service *svc,
                   const struct bridge_request_queue *queue)
{
	struct bridge_request_context ctx = request_context(svc);
	struct bridge_entries changes = {NULL, 0, 0};
	struct json_writer reply;

	json_writer_init(&reply);
	for (size_t i = 0; i < queue->count; i++) {
		const struct bridge_request *r = &queue->requests[i];
		int rc = bridge_request_answer(&ctx, r, &reply, &changes);

		announce(svc, &changes, "a change");
		if (rc != 0)
			continue;
		bridge_connection_publish(svc->connection,
		                          svc->topics->bridge_reply, reply.data,
		                          reply.len);
	}
	json_writer_free(&reply);
}

/* The admin CLI's requests, looked for every ADMIN_POLL_MS. */
static void run_admin_requests(struct bridge_service *svc)
{
	struct bridge_entries changes = {NULL, 0, 0};
	long long now = chat_monotonic_ms();

	if (now - svc->last_admin_poll_ms < ADMIN_POLL_MS)
		return;
	svc->last_admin_poll_ms = now;
	if (bridge_admin_run(svc->store, svc->opts, &changes) > 0)
		svc->last_write_ms = chat_monotonic_ms();
	announce(svc, &changes, "an admin change");
}

/* Takes what was drained, so that hand-offs arriving meanwhile (while
 * waiting for a lock) queue up for the next round. */
static void process(struct bridge_service *svc)
{
	struct bridge_batch batch = svc->batch;
	struct bridge_request_queue queue = svc->requests;
	struct bridge_receipt_queue receipts = svc->receipts;
	struct bridge_presence_queue presence = svc->presence;
	struct bridge_chunk_queue chunks = svc->chunks;
	long long started = chat_monotonic_ms();

	memset(&svc->batch, 0, sizeof(svc->batch));
	memset(&svc->requests, 0, sizeof(svc->requests));
	memset(&svc->receipts, 0, sizeof(svc->receipts));
	memset(&svc->presence, 0, sizeof(svc->presence));
	memset(&svc->chunks, 0, sizeof(svc->chunks));
	note_presence(svc, &presence);
	commit_and_announce(svc, &batch);
	apply_receipts(svc, &receipts);
	write_presence(svc);
	store_chunks(svc, &chunks);
	answer(svc, &queue);
	bridge_debug("processed %zu messages, %zu receipts, %zu presence "
	             "changes, %zu file chunks and %zu requests in %lld ms",
	             batch.count, receipts.count, presence.count, chunks.count,
	             queue.count, chat_monotonic_ms() - started);
	bridge_batch_clear(&batch);
	bridge_receipt_queue_clear(&receipts);
	bridge_presence_queue_clear(&presence);
	bridge_chunk_queue_clear(&chunks);
	bridge_request_queue_clear(&queue);
}

static long long sweep_interval(const struct bridge_media *media)
{
	long long interval = media->retention_ms / 4;

	if (interval < SWEEP_INTERVAL_MIN_MS)
		return SWEEP_INTERVAL_MIN_MS;
	return interval < SWEEP_INTERVAL_MAX_MS ? interval
	                                        : SWEEP_INTERVAL_MAX_MS;
}

/* The retention sweep of files, every minute at most; sooner again while
 * it has more to do than one batch. */
static void sweep_files(struct bridge_service *svc)
{
	struct bridge_sweep result;
	long long now = chat_monotonic_ms();

	if (svc->media == NULL || !svc->media->ready ||
	    now < svc->next_sweep_ms)
		return;
	/* Files' ages are wall-clock times in the store. */
	if (bridge_retention_sweep(svc->store, svc->media, chat_now_ms(),
				   &result) != SQLITE_OK) {
		svc->next_sweep_ms = now + sweep_interval(svc->media);
		return;
	}
	svc->last_write_ms = chat_monotonic_ms();
	svc->next_sweep_ms =
	    now + (result.more ? SWEEP_AGAIN_MS : sweep_interval(svc->media));
}

/*
 * Writes the acknowledged watermarks that no batch took along: once no
 * transaction has been made for WATERMARK_IDLE_MS, or at once (at
 * shutdown). A failure is reported once until writing works again.
 */
static void write_watermarks(struct bridge_service *svc, bool at_once)
{
	long long now = chat_monotonic_ms();
	int rc;

	if (!bridge_store_announced_pending(svc->store) &&
	    !bridge_store_presence_pending(svc->store))
		return;
	if (!at_once && now - svc->last_write_ms < WATERMARK_IDLE_MS)
		return;
	svc->last_write_ms = now;
	rc = bridge_store_flush_deferred(svc->store);
	if (rc == SQLITE_OK && svc->watermarks_failing)
		bridge_info("writing announcement watermarks works again");
	else if (rc != SQLITE_OK && !svc->watermarks_failing)
		bridge_warning("cannot write the announcement watermarks: %s; "
		               "retrying (until then a restart announces "
		               "some messages twice)",
		               sqlite3_errstr(rc));
	svc->watermarks_failing = rc != SQLITE_OK;
}

static bool announcements_settled(const struct bridge_service *svc)
{
	return svc->announcements.waiting == 0 &&
	       bridge_connection_unacknowledged(svc->connection) == 0;
}

/* Finishes what was drained and gives the broker a moment to acknowledge
 * the announcements and replies. Announcements it does not acknowledge in
 * time are made again at the next start; replies are lost. */
static void finish(struct bridge_service *svc)
{
	long long deadline = chat_monotonic_ms() + SHUTDOWN_FLUSH_MS;

	for (;;) {
		if (has_work(svc))
			process(svc);
		bridge_announcements_send(&svc->announcements);
		if (announcements_settled(svc) ||
		    !bridge_connection_is_up(svc->connection) ||
		    chat_monotonic_ms() >= deadline)
			break;
		bridge_connection_poll(svc->connection, WAIT_MS);
	}
	if (has_work(svc))
		process(svc);
	write_watermarks(svc, true);
	if (!announcements_settled(svc))
		bridge_warning(
		    "stopping with %zu publishes not acknowledged by the "
		    "broker and %zu announcements not sent; the next start "
		    "announces their messages again",
		    bridge_connection_unacknowledged(svc->connection),
		    svc->announcements.waiting);
}

/* Queues the announcements the last run may not have made; they go out
 * after the first hello. */
static void recover(struct bridge_service *svc)
{
	int rc = bridge_announcements_recover(&svc->announcements,
	                                      RECOVERY_PER_CONVERSATION);

	if (rc != SQLITE_OK)
		bridge_error("cannot read the messages to announce again: %s; "
		             "members get them by sync",
		             sqlite3_errstr(rc));
}

void bridge_service_run(struct bridge_service *svc)
{
	recover(svc);
	while (*svc->stop_requests == 0) {
		bridge_connection_poll(svc->connection, WAIT_MS);
		bridge_log_tick();
		/* Kept while the broker was away; after the hello now. */
		bridge_announcements_send(&svc->announcements);
		/* Due only when no batch has carried them for a while. */
		write_watermarks(svc, false);
		run_admin_requests(svc);
		sweep_files(svc);
		if (!has_work(svc))
			continue;
		drain(svc);
		process(svc);
	}
	bridge_info("stopping: finishing the current batch");
	finish(svc);
	bridge_log_tick();
}

void bridge_service_free(struct bridge_service *svc)
{
	bridge_batch_clear(&svc->batch);
	bridge_request_queue_clear(&svc->requests);
	bridge_receipt_queue_clear(&svc->receipts);
	bridge_presence_queue_clear(&svc->presence);
	bridge_chunk_queue_clear(&svc->chunks);
	bridge_announcements_free(&svc->announcements);
}
