/*
 * A member whose device hangs: it subscribes to its inbox and then never
 * reads its socket, while the others chat at a steady rate in a group with
 * it. The others' messages keep arriving as fast as before, and the
 * broker's memory stops growing once the hung device's queue is full: what
 * it holds for one device is bounded by max_inflight_messages plus
 * max_queued_messages messages.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define TEXT(x)  #x
#define VALUE(x) TEXT(x)
/* The broker's queue per device for this test: small, so that it is full
 * a few seconds into the stall and the rest of the stall shows whether
 * memory keeps growing. */
#define QUEUED_MAX   100
#define INFLIGHT_MAX 20
#define BODY_BYTES   16384
#define SENDERS      4
/* One message every SEND_INTERVAL_MS, from the senders in turn. */
#define SEND_INTERVAL_MS 12
#define BEFORE_MS        4000
#define STALL_MS         15000
#define RSS_SAMPLE_MS    250
#define MAX_MESSAGES     2000
/* The hung device's receive buffer: a few packets. */
#define STALLED_RCVBUF 4096
/*
 * Memory the broker may add during the stall: the hung device's
 * INFLIGHT_MAX + QUEUED_MAX copies of a message (each about BODY_BYTES
 * plus the stamped fields and the broker's own records, under 1 KiB),
 * twice over for the allocator's slack, plus 8 MiB for everything else
 * that varies (socket buffers copied in, the plugin's batches, SQLite's
 * page cache in the plugin). Without a bound the stall would add
 * STALL_MS / SEND_INTERVAL_MS * BODY_BYTES, about 20 MiB.
 */
#define RSS_BUDGET_KIB                                                         \
	(2L * (INFLIGHT_MAX + QUEUED_MAX) * (BODY_BYTES + 1024) / 1024 +       \
	 8L * 1024)
/* The queue is full within the first half of the stall (the kernel's
 * socket buffers take a few MiB first): the second half may add only
 * noise. Without a bound it would add about 10 MiB. */
#define RSS_SECOND_HALF_KIB (4L * 1024)
/* Others' deliveries may vary with the machine's load, but a broker that
 * waited on the hung device would add seconds. */
#define LATENCY_FACTOR 3
#define LATENCY_SLACK  250

struct latency {
	long *ms;
	size_t count, capacity;
};

struct stall_run {
	struct chat_server *srv;
	char tokens[SENDERS + 1][TEST_TOKEN_MAX];
	struct test_client *senders[SENDERS];
	char convo[TEST_ID_MAX];
	int sent;
	long long sent_ms[MAX_MESSAGES];
	size_t scanned[SENDERS];
	long rss_max_kib, rss_last_kib;
};

static const char *const users[SENDERS + 1] = {"ann", "ben", "dan", "eve",
                                               "sid"};

static void add_latency(struct latency *l, long ms)
{
	if (l->count == l->capacity) {
		size_t n = l->capacity ? l->capacity * 2 : 1024;
		long *bigger = realloc(l->ms, n * sizeof(*bigger));

		assert_non_null(bigger);
		l->ms = bigger;
		l->capacity = n;
	}
	l->ms[l->count++] = ms;
}

static int compare_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static long percentile(struct latency *l, int pct)
{
	if (l->count == 0)
		return -1;
	qsort(l->ms, l->count, sizeof(*l->ms), compare_long);
	return l->ms[(l->count - 1) * (size_t)pct / 100];
}

static void set_up(struct chat_fixture *fx, struct stall_run *run)
{
	static const struct chat_server_config cfg = {
	    .broker_lines = {"max_queued_messages " VALUE(QUEUED_MAX),
	                     "max_inflight_messages " VALUE(INFLIGHT_MAX)}};
	const char *others[SENDERS];

	memset(run, 0, sizeof(*run));
	run->srv = chat_fixture_server(fx, &cfg);
	for (int i = 0; i <= SENDERS; i++)
		chat_fixture_user(run->srv, users[i], run->tokens[i]);
	for (int i = 0; i < SENDERS; i++)
		run->senders[i] =
		    chat_fixture_connect(run->srv, users[i], run->tokens[i]);
	for (int i = 1; i <= SENDERS; i++)
		others[i - 1] = users[i];
	chat_fixture_group(run->senders[0], "office", others, SENDERS, false,
	                   run->convo);
}

static void send_next(struct stall_run *run)
{
	static char body[BODY_BYTES + 1];
	char cmid[TEST_CMID_MAX];
	int n = run->sent;

	assert_true(n < MAX_MESSAGES);
	memset(body, '.', BODY_BYTES);
	snprintf(cmid, sizeof(cmid), "m%05d", n);
	memcpy(body, cmid, strlen(cmid));
	run->sent_ms[n] = test_now_ms();
	assert_int_equal(test_client_send(run->senders[n % SENDERS], run->convo,
	                                  cmid, body, NULL),
	                 0);
	run->sent++;
}

/* Delivery latencies of others' messages that reached each sender since
 * the last call. */
static void collect(struct stall_run *run, struct latency *l)
{
	struct test_match msg = {.kind = "msg", .convo = run->convo};

	for (int i = 0; i < SENDERS; i++) {
		struct test_client *c = run->senders[i];
		size_t mark = test_client_mark(c);

		for (; run->scanned[i] < mark; run->scanned[i]++) {
			const struct test_inbox_entry *e =
			    test_client_entry(c, run->scanned[i]);
			const char *cmid = test_json_string(e->json, "cmid");
			int n;

			if (!test_entry_matches(c, e, &msg) || cmid[0] != 'm')
				continue;
			n = atoi(cmid + 1);
			if (n % SENDERS == i || n >= run->sent)
				continue;
			add_latency(l,
			            (long)(e->received_ms - run->sent_ms[n]));
		}
	}
}

static void sample_rss(struct stall_run *run)
{
	long kib = test_process_rss_kib(run->srv->broker.pid);

	assert_true(kib > 0);
	run->rss_last_kib = kib;
	if (kib > run->rss_max_kib)
		run->rss_max_kib = kib;
}

/* Chats for ms milliseconds, collecting latencies and broker memory. */
static void chat_for(struct stall_run *run, int ms, struct latency *l)
{
	long long end = test_now_ms() + ms, due = test_now_ms();
	long long next_sample = test_now_ms();

	while (test_now_ms() < end) {
		if (test_now_ms() >= due) {
			send_next(run);
			due += SEND_INTERVAL_MS;
		}
		if (test_now_ms() >= next_sample) {
			sample_rss(run);
			next_sample += RSS_SAMPLE_MS;
		}
		collect(run, l);
		test_sleep_ms(2);
	}
}

/* Every sender received every message once at least. */
static void assert_everyone_else_got_everything(struct stall_run *run)
{
	for (int i = 0; i < SENDERS; i++)
		assert_true(test_client_wait_seqs(run->senders[i], run->convo,
		                                  2, run->sent + 1, WAIT));
}

CHAT_TEST(a_hung_device_slows_nobody_and_costs_bounded_memory)
{
	static struct latency before, during;
	static struct stall_run stall_run;
	struct stall_run *run = &stall_run;
	struct raw_mqtt stalled = {-1};
	long rss_before, rss_mid;

	memset(&before, 0, sizeof(before));
	memset(&during, 0, sizeof(during));
	set_up(fx, run);
	chat_for(run, BEFORE_MS, &before);
	rss_before = run->rss_last_kib;

	assert_int_equal(test_stalled_subscriber(
	                     &stalled, run->srv->port, users[SENDERS],
	                     run->tokens[SENDERS], "sid-hung", STALLED_RCVBUF),
	                 0);
	run->rss_max_kib = 0;
	chat_for(run, STALL_MS / 2, &during);
	rss_mid = run->rss_last_kib;
	chat_for(run, STALL_MS - STALL_MS / 2, &during);
	assert_everyone_else_got_everything(run);
	collect(run, &during);

	print_message("latency before: p50 %ld ms, p99 %ld ms (%zu); while "
	              "a device hangs: p50 %ld ms, p99 %ld ms (%zu)\n",
	              percentile(&before, 50), percentile(&before, 99),
	              before.count, percentile(&during, 50),
	              percentile(&during, 99), during.count);
	print_message("broker RSS: %ld KiB before, %ld KiB half-way, %ld KiB "
	              "at most, %ld KiB at the end (budget +%ld KiB)\n",
	              rss_before, rss_mid, run->rss_max_kib, run->rss_last_kib,
	              RSS_BUDGET_KIB);
	assert_true(percentile(&during, 50) <=
	            LATENCY_FACTOR * percentile(&before, 50) + LATENCY_SLACK);
	assert_true(percentile(&during, 99) <=
	            LATENCY_FACTOR * percentile(&before, 99) + LATENCY_SLACK);
	/* ASan keeps freed memory in quarantine: the broker's RSS says
	 * something only in the plain build. */
	if (!test_sanitized()) {
		assert_true(run->rss_max_kib - rss_before <= RSS_BUDGET_KIB);
		assert_true(run->rss_last_kib - rss_mid <= RSS_SECOND_HALF_KIB);
	}
	raw_mqtt_drop(&stalled);
	free(before.ms);
	free(during.ms);
}

/*
 * A device that keeps asking for large answers and never reads them: the
 * broker drops what its queue for that device cannot hold, and frees what
 * it drops. (mosquitto 2.0.11 keeps a dropped publish addressed to one
 * client id for good, so answers must not be sent that way.)
 */
#define ASKER_QUEUED   20
#define ASKER_INFLIGHT 20
#define ASKER_REQUESTS_PER_S 100
#define ASKER_MS       10000
#define BACKLOG        40
/* Each answer is a page of up to 256 KiB of the backlog. */
#define PAGE_KIB 256
/* What the broker may hold for the device, twice for the allocator's
 * slack, plus 16 MiB for everything else that varies. Leaking the dropped
 * answers instead would add about ASKER_MS / 1000 *
 * ASKER_REQUESTS_PER_S * PAGE_KIB, some 250 MiB. */
#define ASKER_BUDGET_KIB                                                       \
	(2L * (ASKER_QUEUED + ASKER_INFLIGHT) * PAGE_KIB + 16L * 1024)

CHAT_TEST(a_device_that_asks_and_never_reads_costs_bounded_memory)
{
	static const struct chat_server_config cfg = {
	    .broker_lines = {"max_queued_messages " VALUE(ASKER_QUEUED),
	                     "max_inflight_messages " VALUE(ASKER_INFLIGHT)},
	    .plugin_options = {
	        "user_request_rate " VALUE(ASKER_REQUESTS_PER_S),
	        "user_request_burst " VALUE(ASKER_REQUESTS_PER_S)}};
	static char body[BODY_BYTES + 1];
	char ann_token[TEST_TOKEN_MAX], sid_token[TEST_TOKEN_MAX];
	char convo[TEST_ID_MAX], cmid[TEST_CMID_MAX], request[256];
	struct raw_mqtt asker = {-1};
	struct chat_server *srv = chat_fixture_server(fx, &cfg);
	struct test_client *ann;
	long rss_before, rss_max = 0, kib;
	long long end, due;
	int asked = 0;

	chat_fixture_user(srv, "ann", ann_token);
	chat_fixture_user(srv, "sid", sid_token);
	chat_fixture_direct(srv, "ann", "sid", convo);
	ann = chat_fixture_connect(srv, "ann", ann_token);
	memset(body, '.', BODY_BYTES);
	for (int i = 0; i < BACKLOG; i++) {
		snprintf(cmid, sizeof(cmid), "b%d", i);
		assert_int_equal(test_client_send(ann, convo, cmid, body, NULL),
		                 0);
		assert_non_null(test_client_wait_tick(ann, convo, cmid, WAIT));
	}
	assert_int_equal(test_stalled_subscriber(&asker, srv->port, "sid",
	                                         sid_token, "sid-asker",
	                                         STALLED_RCVBUF),
	                 0);
	rss_before = test_process_rss_kib(srv->broker.pid);
	end = test_now_ms() + ASKER_MS;
	for (due = test_now_ms(); test_now_ms() < end;
	     due += 1000 / ASKER_REQUESTS_PER_S) {
		int len = snprintf(request, sizeof(request),
		                   "{\"id\":\"r%d\",\"op\":\"sync\","
		                   "\"convo\":\"%s\",\"after\":0,"
		                   "\"limit\":%d}",
		                   asked++, convo, BACKLOG);

		assert_int_equal(raw_mqtt_publish(&asker, TEST_PREFIX "/req",
		                                  request, (size_t)len, 0, 0,
		                                  false),
		                 0);
		kib = test_process_rss_kib(srv->broker.pid);
		if (kib > rss_max)
			rss_max = kib;
		while (test_now_ms() < due)
			test_sleep_ms(1);
	}
	/* The broker is still there for everyone else. */
	assert_int_equal(test_client_send(ann, convo, "after", "still here",
	                                  NULL),
	                 0);
	assert_non_null(test_client_wait_tick(ann, convo, "after", WAIT));
	print_message("%d requests from a device that never reads: broker "
	              "RSS %ld KiB before, %ld KiB at most (budget +%ld KiB)\n",
	              asked, rss_before, rss_max, ASKER_BUDGET_KIB);
	if (!test_sanitized())
		assert_true(rss_max - rss_before <= ASKER_BUDGET_KIB);
	raw_mqtt_drop(&asker);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_hung_device_slows_nobody_and_costs_bounded_memory),
	    CHAT_TEST_ENTRY(
	        a_device_that_asks_and_never_reads_costs_bounded_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
