/*
 * Catch-up: a reader comes back to a conversation with a backlog and takes
 * all of it. On the chat server it follows the protocol's recipe: sync
 * requests of `page` messages, each after the previous page's `through`,
 * until `more` is false (bench/setup.sh wrote the backlog into SQLite
 * beforehand). On plain mosquitto it is a durable session: subscribed, gone
 * while a publisher queued the backlog at QoS 1, then back to drain it.
 * The clock runs from the reader's connect to its last message.
 */
#include "envelope.h"
#include "fleet.h"
#include "loop.h"
#include "procstat.h"
#include "report.h"
#include "scenarios.h"
#include "seen.h"

#include <stdio.h>
#include <string.h>

#define CATCHUP_STEP_MS   30000
#define CATCHUP_DRAIN_MS  120000
#define CATCHUP_FILL_OPEN 1000 /* plain fill: publishes awaiting PUBACK */
#define WRITER            0
#define READER            1

struct catchup {
	const struct load_options *opt;
	struct load_loop loop;
	struct load_fleet fleet;
	bool product;
	char convo[LOAD_CONVO_MAX];
	struct load_seen seen; /* seqs, or counters on plain mosquitto */
	long long received;    /* copies, repeats included */
	long long pages;
	long long after; /* the next page starts after this seq */
	char request_id[32];
	long long retries;   /* pages asked again after busy or rate_limited */
	long long retry_due; /* ns; 0 when no page waits to be asked again */
	long long filled, fill_acked; /* plain: the publisher's progress */
	bool done;
	bool failed;
};

static void mark_message(struct catchup *c, long long position)
{
	c->received++;
	if (load_seen_mark(&c->seen, position) < 0)
		c->failed = true;
}

/* Every "seq" after "messages":[ is one message of the page. */
static void count_page(struct catchup *c, const char *messages, const char *end)
{
	const char *p = messages;

	while (p < end) {
		long long seq;

		p = memmem(p, (size_t)(end - p), "\"seq\":", 6);
		if (p == NULL ||
		    load_field_integer(p, (size_t)(end - p), "seq", &seq) != 0)
			return;
		mark_message(c, seq);
		p += 6;
	}
}

static int request_page(struct catchup *c)
{
	struct load_conn *conn = &c->fleet.clients[READER].conn;
	char body[256];
	unsigned id;

	snprintf(c->request_id, sizeof(c->request_id), "sync-%lld",
	         c->pages + 1);
	snprintf(body, sizeof(body),
	         "{\"id\":\"%s\",\"op\":\"sync\",\"convo\":\"%s\","
	         "\"after\":%lld,\"limit\":%d}",
	         c->request_id, c->convo, c->after, c->opt->page);
	return load_conn_publish(conn, "chat/req", body, strlen(body), &id);
}

static bool is_current_page(const struct catchup *c,
                            const struct mqtt_publish *m)
{
	char needle[64];
	int n =
	    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", c->request_id);

	return memmem(m->payload, m->payload_len, needle, (size_t)n) != NULL;
}

/* A refused page: asked again after the pause the error code calls for. */
static void take_refusal(struct catchup *c, const struct mqtt_publish *m)
{
	const char *code = "";
	size_t code_len = 0;
	int pause;

	load_field_string(m->payload, m->payload_len, "code", &code, &code_len);
	pause = load_retry_pause_ms(code, code_len);
	if (pause < 0) {
		fprintf(stderr, "chat-load: sync refused: %.*s\n",
		        (int)(m->payload_len < 300 ? m->payload_len : 300),
		        m->payload);
		c->failed = true;
		return;
	}
	c->retries++;
	c->retry_due = c->loop.now_ns + pause * 1000000LL;
}

static void take_page(struct catchup *c, const struct mqtt_publish *m)
{
	const char *end = m->payload + m->payload_len;
	const char *messages =
	    memmem(m->payload, m->payload_len, "\"messages\":[", 12);
	size_t header =
	    messages ? (size_t)(messages - m->payload) : m->payload_len;
	long long through;

	if (!load_field_true(m->payload, header, "ok")) {
		take_refusal(c, m);
		return;
	}
	if (messages == NULL ||
	    load_field_integer(m->payload, header, "through", &through) != 0) {
		fprintf(stderr, "chat-load: sync answer without a page\n");
		c->failed = true;
		return;
	}
	count_page(c, messages, end);
	c->pages++;
	c->after = through;
	if (!load_field_true(m->payload, header, "more"))
		c->done = true;
	else if (request_page(c) != 0)
		c->failed = true;
}

static void on_message(void *scenario, struct load_client *cl,
                       const struct mqtt_publish *m)
{
	struct catchup *c = scenario;
	struct load_stamp stamp;

	if (cl->conn.index != READER)
		return;
	if (c->product) {
		if (is_current_page(c, m))
			take_page(c, m);
		return;
	}
	if (load_stamp_read(m->payload, m->payload_len, &stamp) == 0)
		mark_message(c, stamp.counter);
	else
		c->failed = true;
}

static void on_puback(void *scenario, struct load_client *cl,
                      unsigned packet_id)
{
	struct catchup *c = scenario;

	(void)packet_id;
	if (!c->product && cl->conn.index == WRITER)
		c->fill_acked++;
}

static const struct load_fleet_handlers catchup_handlers = {
    .message = on_message,
    .puback = on_puback,
};

/* Plain fill: keeps CATCHUP_FILL_OPEN publishes open until all are in. */
static bool fill_step(void *arg)
{
	struct catchup *c = arg;
	struct load_conn *conn = &c->fleet.clients[WRITER].conn;

	while (c->filled < c->opt->backlog &&
	       c->filled - c->fill_acked < CATCHUP_FILL_OPEN) {
		struct load_stamp stamp = {load_now_ns(), 0, c->filled + 1};
		char payload[LOAD_ENVELOPE_MAX];
		size_t len = load_envelope_write(payload, &stamp, c->opt->body);
		unsigned id;

		if (load_conn_publish(conn, "bench/backlog", payload, len,
		                      &id) != 0) {
			c->failed = true;
			return true;
		}
		c->filled++;
	}
	return c->fill_acked >= c->opt->backlog || c->fleet.failed > 0;
}

static bool drained(void *arg)
{
	struct catchup *c = arg;

	if (c->retry_due && c->loop.now_ns >= c->retry_due) {
		c->retry_due = 0;
		if (request_page(c) != 0)
			c->failed = true;
	}
	if (c->product)
		return c->done || c->failed || c->fleet.failed > 0;
	return c->seen.count >= c->opt->backlog || c->failed ||
	       c->fleet.failed > 0;
}

static int queue_plain_backlog(struct catchup *c, double *fill_per_s)
{
	struct load_fleet *f = &c->fleet;
	struct load_client *reader = &f->clients[READER];
	long long start;

	reader->clean_session = false;
	if (load_fleet_connect(f, READER, 1, 1, CATCHUP_STEP_MS) != 0 ||
	    load_fleet_disconnect(f, READER, CATCHUP_STEP_MS) != 0 ||
	    load_fleet_connect(f, WRITER, 1, 1, CATCHUP_STEP_MS) != 0)
		return -1;
	start = load_now_ns();
	if (load_fleet_run_until(f, fill_step, c, CATCHUP_DRAIN_MS) != 0 ||
	    c->failed || load_fleet_disconnect(f, WRITER, CATCHUP_STEP_MS) != 0)
		return -1;
	*fill_per_s =
	    (double)c->opt->backlog * 1e9 / (double)(load_now_ns() - start);
	/* Coming back: the session still holds the subscription. */
	reader->filter[0] = '\0';
	return 0;
}

static int prepare(struct catchup *c, const struct load_roster *r,
                   double *fill_per_s)
{
	char filter[LOAD_FILTER_MAX], user[LOAD_NAME_MAX];
	int writer = c->product ? r->backlog_writer : 0;
	int reader = c->product ? r->backlog_reader : 1;

	if (load_fleet_init(&c->fleet, &c->loop, c->opt->port, 2) != 0)
		return -1;
	c->fleet.handlers = &catchup_handlers;
	c->fleet.scenario = c;
	/* The writer asks whether the server is ready: answers come through
	 * its inbox subscription. */
	snprintf(user, sizeof(user), "u%d", writer);
	snprintf(filter, sizeof(filter), "chat/u/%s/#", user);
	load_fleet_name(&c->fleet, WRITER, user, c->product ? filter : NULL,
	                c->product ? load_roster_token(r, writer) : NULL);
	snprintf(user, sizeof(user), "u%d", reader);
	snprintf(filter, sizeof(filter), "chat/u/%s/#", user);
	load_fleet_name(&c->fleet, READER, user,
	                c->product ? filter : "bench/backlog",
	                c->product ? load_roster_token(r, reader) : NULL);
	if (!c->product)
		return queue_plain_backlog(c, fill_per_s);
	snprintf(c->convo, sizeof(c->convo), "%s", r->backlog);
	if (load_fleet_connect(&c->fleet, WRITER, 1, 1, CATCHUP_STEP_MS) != 0)
		return -1;
	return load_fleet_await_service(&c->fleet, WRITER, CATCHUP_STEP_MS);
}

static int drain(struct catchup *c, struct load_cpu_mark marks[2])
{
	const struct load_options *o = c->opt;

	load_cpu_mark_take(&marks[0], o->broker_pid, o->bridge_pid,
	                   load_now_ns());
	if (load_fleet_connect(&c->fleet, READER, 1, 1, CATCHUP_STEP_MS) != 0)
		return -1;
	if (c->product && request_page(c) != 0)
		return -1;
	load_fleet_run_until(&c->fleet, drained, c, CATCHUP_DRAIN_MS);
	load_cpu_mark_take(&marks[1], o->broker_pid, o->bridge_pid,
	                   load_now_ns());
	return 0;
}

static int report(struct catchup *c, const struct load_cpu_mark marks[2],
                  double fill_per_s)
{
	double seconds = (double)(marks[1].wall_ns - marks[0].wall_ns) / 1e9;
	long long backlog = c->opt->backlog;
	bool ok = !c->failed && c->seen.count == backlog &&
	          c->seen.max == backlog && !load_seen_has(&c->seen, 0) &&
	          c->fleet.error_events == 0 && c->loop.lost == 0;

	load_report_text("scenario", "catchup");
	load_report_text("mode", c->product ? "product" : "plain");
	load_report_int("published", backlog);
	load_report_int("received", c->received);
	load_report_int("delivered", c->seen.count);
	load_report_int("redelivered", c->received - c->seen.count);
	load_report_int("pages", c->pages);
	load_report_int("retried", c->retries);
	load_report_real("duration_s", seconds);
	load_report_real("catchup_per_s", (double)c->seen.count / seconds);
	load_report_real("fill_per_s", fill_per_s);
	load_report_real("gen_cpu_pct",
	                 load_cpu_percent(&marks[0], &marks[1], 0));
	load_report_real("broker_cpu_pct",
	                 load_cpu_percent(&marks[0], &marks[1], 1));
	load_report_real("bridge_cpu_pct",
	                 load_cpu_percent(&marks[0], &marks[1], 2));
	load_report_int("error_events", c->fleet.error_events);
	load_report_int("lost_connections", c->loop.lost);
	load_report_int("ok", ok);
	load_report_end();
	return ok ? LOAD_RUN_OK : LOAD_RUN_FAILED;
}

int load_run_catchup(const struct load_options *o, const struct load_roster *r)
{
	struct catchup c = {.opt = o, .product = o->mode == LOAD_PRODUCT};
	struct load_cpu_mark marks[2] = {{0}, {0}};
	double fill_per_s = -1;
	int rc = LOAD_RUN_ERROR;

	if (load_loop_init(&c.loop) != 0)
		return LOAD_RUN_ERROR;
	if (prepare(&c, r, &fill_per_s) == 0 && drain(&c, marks) == 0)
		rc = report(&c, marks, fill_per_s);
	load_seen_free(&c.seen);
	load_fleet_free(&c.fleet);
	load_loop_free(&c.loop);
	return rc;
}
