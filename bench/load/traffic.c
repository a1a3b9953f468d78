/*
 * The traffic scenarios. "pairs": pair k is users u(2k) (sender) and
 * u(2k+1) in their direct conversation, or a publisher and a subscriber of
 * bench/pair/k on plain mosquitto. "group": users u0..u(n-1) in one group,
 * the first `senders` of them sending, or n subscribers of bench/group.
 *
 * Without --rate every sender keeps `inflight` messages unfinished (as
 * fast as the server allows); with --rate the messages leave on a fixed
 * schedule shared round robin by the senders, for latency at a set load.
 * Counts are taken over the window that follows the warm-up; then sending
 * stops and every message must finish.
 */
#include "traffic.h"

#include "procstat.h"
#include "report.h"
#include "scenarios.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRAFFIC_DRAIN_MS      15000
#define TRAFFIC_CONNECT_MS    20000
#define TRAFFIC_SERVICE_MS    15000
#define TRAFFIC_PACED_TURN_MS 1
#define TRAFFIC_TURN_MS       5

static const struct load_fleet_handlers traffic_handlers = {
    .message = traffic_on_message,
    .puback = traffic_on_puback,
    .event = traffic_on_event,
};

static int allocate(struct traffic *t, int clients, int senders, int keys)
{
	t->sender_count = senders;
	t->keys = keys;
	t->senders = calloc((size_t)senders, sizeof(*t->senders));
	t->sender_of = malloc((size_t)clients * sizeof(*t->sender_of));
	t->seen = calloc((size_t)clients * (size_t)keys, sizeof(*t->seen));
	if (!t->senders || !t->sender_of || !t->seen ||
	    load_fleet_init(&t->fleet, &t->loop, t->opt->port, clients) != 0)
		return -1;
	t->fleet.handlers = &traffic_handlers;
	t->fleet.scenario = t;
	for (int i = 0; i < clients; i++)
		t->sender_of[i] = -1;
	for (int i = 0; !t->product && i < senders; i++) {
		t->senders[i].by_packet =
		    calloc(TRAFFIC_PACKET_IDS, sizeof(struct traffic_puback));
		if (t->senders[i].by_packet == NULL)
			return -1;
	}
	return 0;
}

/* Client i is user u<user>; in product mode it subscribes its inbox. */
static int name_client(struct traffic *t, const struct load_roster *r, int i,
                       int user, const char *plain_filter)
{
	char name[LOAD_NAME_MAX], filter[LOAD_FILTER_MAX];
	const char *token = NULL;

	snprintf(name, sizeof(name), "u%d", user);
	if (t->product) {
		token = load_roster_token(r, user);
		if (token == NULL) {
			fprintf(stderr, "chat-load: no token for %s\n", name);
			return -1;
		}
		snprintf(filter, sizeof(filter), "chat/u/%s/#", name);
		plain_filter = filter;
	}
	load_fleet_name(&t->fleet, i, name, plain_filter, token);
	return 0;
}

static void set_sender(struct traffic *t, int index, int client,
                       const char *convo, const char *plain_topic)
{
	struct traffic_sender *s = &t->senders[index];

	s->client = client;
	t->sender_of[client] = index;
	if (t->product)
		snprintf(s->topic, sizeof(s->topic), "chat/send/%s", convo);
	else
		snprintf(s->topic, sizeof(s->topic), "%s", plain_topic);
}

static int setup_pairs(struct traffic *t, const struct load_roster *r)
{
	int pairs = t->opt->pairs;

	if (pairs > LOAD_PAIRS_MAX || (t->product && r->direct_count < pairs)) {
		fprintf(stderr, "chat-load: %d pairs wanted, roster has %d\n",
		        pairs, r->direct_count);
		return -1;
	}
	t->stream_count = pairs;
	t->copies = 2; /* recipient + tick, or recipient + PUBACK */
	if (allocate(t, 2 * pairs, pairs, pairs) != 0)
		return -1;
	for (int k = 0; k < pairs; k++) {
		char topic[LOAD_FILTER_MAX];

		snprintf(topic, sizeof(topic), "bench/pair/%d", k);
		t->streams[k] = t->product ? r->direct[k] : NULL;
		if (name_client(t, r, 2 * k, 2 * k, NULL) != 0 ||
		    name_client(t, r, 2 * k + 1, 2 * k + 1, topic) != 0)
			return -1;
		set_sender(t, k, 2 * k, t->streams[k], topic);
	}
	return 0;
}

static int setup_group(struct traffic *t, const struct load_roster *r)
{
	int members = t->opt->members;
	int senders = t->opt->senders < members ? t->opt->senders : members;
	const char *convo = t->product ? load_roster_group(r, members) : "";

	if (convo == NULL) {
		fprintf(stderr, "chat-load: roster has no group of %d\n",
		        members);
		return -1;
	}
	t->group = true;
	t->stream_count = 1;
	t->streams[0] = convo;
	/* Every member's copy; on plain mosquitto also the PUBACK. */
	t->copies = t->product ? members : members + 1;
	if (allocate(t, members, senders, t->product ? 1 : senders) != 0)
		return -1;
	for (int i = 0; i < members; i++)
		if (name_client(t, r, i, i, "bench/group") != 0)
			return -1;
	for (int i = 0; i < senders; i++)
		set_sender(t, i, i, convo, "bench/group");
	return 0;
}

static int fill_windows(struct traffic *t)
{
	for (int i = 0; i < t->sender_count; i++)
		while (t->senders[i].in_flight < t->opt->inflight)
			if (traffic_send(t, i) != 0)
				return -1;
	return 0;
}

/* Paced: the messages due by now, round robin over the senders; a sender
 * whose window is full is skipped, and counted as a stall. */
static int send_due(struct traffic *t, long long start_ns)
{
	double elapsed = (double)(t->loop.now_ns - start_ns) / 1e9;
	long long due = (long long)(elapsed * t->opt->rate);

	while (t->published < due) {
		int tried = 0, index;

		do {
			index = (int)(t->next_sender++ % t->sender_count);
		} while (t->senders[index].in_flight >= t->opt->inflight &&
		         ++tried < t->sender_count);
		if (tried == t->sender_count) {
			t->stalls++;
			return 0;
		}
		if (traffic_send(t, index) != 0)
			return -1;
	}
	return 0;
}

static bool broken(const struct traffic *t)
{
	return t->fleet.failed > 0 || t->loop.lost > 0;
}

/* Sends through warm-up and window, then lets every message finish. */
static int run_phases(struct traffic *t, struct load_cpu_mark marks[2])
{
	const struct load_options *o = t->opt;
	long long start = t->loop.now_ns, drain_until = 0;
	int turn_ms = o->rate > 0 ? TRAFFIC_PACED_TURN_MS : TRAFFIC_TURN_MS;
	bool marked = false;

	t->measure_from = start + (long long)(o->warmup_s * 1e9);
	t->measure_to = t->measure_from + (long long)(o->window_s * 1e9);
	t->sending = true;
	while (!broken(t)) {
		long long now = t->loop.now_ns;

		if (!marked && now >= t->measure_from) {
			load_cpu_mark_take(&marks[0], o->broker_pid,
			                   o->bridge_pid, now);
			marked = true;
		}
		if (t->sending && now >= t->measure_to) {
			load_cpu_mark_take(&marks[1], o->broker_pid,
			                   o->bridge_pid, now);
			t->sending = false;
			drain_until = now + TRAFFIC_DRAIN_MS * 1000000LL;
		}
		if (traffic_resend_due(t) != 0)
			return -1;
		if (t->sending &&
		    (o->rate > 0 ? send_due(t, start) : fill_windows(t)) != 0)
			return -1;
		if (!t->sending &&
		    (traffic_in_flight(t) == 0 || now >= drain_until))
			return 0;
		if (load_loop_turn(&t->loop, turn_ms) != 0)
			return -1;
	}
	return 0;
}

static void report_latency(const char *prefix, struct load_samples *s)
{
	static const struct {
		const char *name;
		double p;
	} points[] = {{"p50", 50}, {"p99", 99}, {"p999", 99.9}};
	char key[64];

	for (size_t i = 0; i < sizeof(points) / sizeof(*points); i++) {
		snprintf(key, sizeof(key), "%s_%s_ms", prefix, points[i].name);
		load_report_real(key,
		                 load_samples_percentile_ms(s, points[i].p));
	}
	snprintf(key, sizeof(key), "%s_samples", prefix);
	load_report_int(key, (long long)s->count);
}

static void report_cpu(const struct traffic *t,
                       const struct load_cpu_mark marks[2])
{
	double per = t->window.accepted > 0 ? (double)t->window.accepted : -1;
	double broker = load_cpu_us(&marks[0], &marks[1], 1);
	double bridge = load_cpu_us(&marks[0], &marks[1], 2);

	load_report_real("gen_cpu_pct",
	                 load_cpu_percent(&marks[0], &marks[1], 0));
	load_report_real("broker_cpu_pct",
	                 load_cpu_percent(&marks[0], &marks[1], 1));
	load_report_real("bridge_cpu_pct",
	                 load_cpu_percent(&marks[0], &marks[1], 2));
	load_report_real("broker_us_per_msg",
	                 broker < 0 || per < 0 ? -1 : broker / per);
	load_report_real("bridge_us_per_msg",
	                 bridge < 0 || per < 0 ? -1 : bridge / per);
}

static void report_counts(const struct traffic *t, long long incomplete)
{
	load_report_int("published", t->published);
	load_report_int("accepted", t->total.accepted);
	load_report_int("delivered", t->total.delivered_other);
	load_report_int("own_copies", t->total.delivered_own);
	load_report_int("redelivered", t->redelivered);
	load_report_int("extra", t->extra);
	load_report_int("unknown", t->unknown);
	load_report_int("other_inbox", t->other_inbox);
	load_report_int("incomplete", incomplete);
	load_report_int("error_events", t->fleet.error_events);
	load_report_int("lost_connections", t->loop.lost);
	load_report_int("stalls", t->stalls);
	load_report_int("retried", t->retried);
}

static void report_rates(const struct traffic *t)
{
	double w = t->opt->window_s;

	load_report_real("accepted_per_s", (double)t->window.accepted / w);
	load_report_real("delivered_per_s",
	                 (double)t->window.delivered_other / w);
	load_report_real(
	    "deliveries_per_s",
	    (double)(t->window.delivered_other + t->window.delivered_own) / w);
}

static int report(struct traffic *t, const struct load_cpu_mark marks[2])
{
	long long incomplete = traffic_in_flight(t);
	bool ok = incomplete == 0 && t->extra == 0 && t->unknown == 0 &&
	          t->fleet.error_events == 0 && !broken(t) && t->published > 0;

	load_report_text("scenario", t->group ? "group" : "pairs");
	load_report_text("mode", t->product ? "product" : "plain");
	load_report_int("clients", t->fleet.count);
	load_report_int("senders", t->sender_count);
	load_report_int("inflight", t->opt->inflight);
	load_report_int("rate", t->opt->rate);
	load_report_real("window_s", t->opt->window_s);
	report_counts(t, incomplete);
	report_rates(t);
	report_latency("recv", &t->receive_ns);
	report_latency("tick", &t->accept_ns);
	report_cpu(t, marks);
	load_report_int("ok", ok);
	load_report_end();
	return ok ? LOAD_RUN_OK : LOAD_RUN_FAILED;
}

static void release(struct traffic *t)
{
	for (int i = 0; t->senders && i < t->sender_count; i++) {
		free(t->senders[i].remaining);
		free(t->senders[i].send_ns);
		free(t->senders[i].by_packet);
	}
	for (int i = 0; t->seen && i < t->fleet.count * t->keys; i++)
		load_seen_free(&t->seen[i]);
	free(t->senders);
	free(t->retries);
	free(t->sender_of);
	free(t->seen);
	load_samples_free(&t->receive_ns);
	load_samples_free(&t->accept_ns);
	load_fleet_free(&t->fleet);
	load_loop_free(&t->loop);
}

static int prepare(struct traffic *t, const struct load_roster *r)
{
	const struct load_options *o = t->opt;
	int rc = strcmp(o->scenario, "group") == 0 ? setup_group(t, r)
	                                           : setup_pairs(t, r);

	if (rc != 0 || load_fleet_connect(&t->fleet, 0, t->fleet.count,
	                                  o->parallel, TRAFFIC_CONNECT_MS) != 0)
		return -1;
	if (t->product &&
	    load_fleet_await_service(&t->fleet, 0, TRAFFIC_SERVICE_MS) != 0)
		return -1;
	return 0;
}

int load_run_traffic(const struct load_options *o, const struct load_roster *r)
{
	struct traffic t = {.opt = o, .product = o->mode == LOAD_PRODUCT};
	struct load_cpu_mark marks[2] = {{0}, {0}};
	int rc = LOAD_RUN_ERROR;

	if (load_loop_init(&t.loop) != 0)
		return LOAD_RUN_ERROR;
	t.loop.min_turn_ns = o->turn_us * 1000LL;
	if (prepare(&t, r) == 0 && run_phases(&t, marks) == 0)
		rc = report(&t, marks);
	release(&t);
	return rc;
}
