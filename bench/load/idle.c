/*
 * Idle connections: client 0 connects first (and, on the chat server,
 * waits for the bridge); the broker's and the bridge's resident memory is
 * the baseline. Then every other client connects and subscribes to its
 * inbox (plain mosquitto: the same filter, anonymous), the processes settle
 * for a moment, and the growth divided by the added connections is the
 * memory per connection.
 */
#include "fleet.h"
#include "loop.h"
#include "procstat.h"
#include "report.h"
#include "scenarios.h"

#include <stdio.h>
#include <sys/resource.h>

#define IDLE_SETTLE_MS  1000
#define IDLE_CONNECT_MS 120000
#define IDLE_STEP_MS    15000
#define IDLE_FD_SPARE   64 /* descriptors kept for everything else */

struct idle_memory {
	long broker_kb, bridge_kb;
	double self_cpu_s; /* the generator's CPU time so far */
};

/* Raises the descriptor limit to the hard limit; returns how many clients
 * fit under it. */
static int client_budget(int wanted)
{
	struct rlimit rl;
	long room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return wanted;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	room = (long)rl.rlim_cur - IDLE_FD_SPARE;
	return room < wanted ? (int)room : wanted;
}

static int name_clients(struct load_fleet *f, const struct load_options *o,
                        const struct load_roster *r)
{
	for (int i = 0; i < f->count; i++) {
		char user[LOAD_NAME_MAX], filter[LOAD_FILTER_MAX];
		const char *token = NULL;

		snprintf(user, sizeof(user), "u%d", i);
		snprintf(filter, sizeof(filter), "chat/u/%s/#", user);
		if (o->mode == LOAD_PRODUCT) {
			token = load_roster_token(r, i);
			if (token == NULL) {
				fprintf(stderr, "chat-load: no token for %s\n",
				        user);
				return -1;
			}
		}
		load_fleet_name(f, i, user, filter, token);
	}
	return 0;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

static void measure(struct load_fleet *f, const struct load_options *o,
                    struct idle_memory *m)
{
	load_fleet_run_until(f, never, NULL, IDLE_SETTLE_MS);
	m->broker_kb = load_proc_rss_kb(o->broker_pid);
	m->bridge_kb = load_proc_rss_kb(o->bridge_pid);
	m->self_cpu_s = load_self_cpu_s();
}

static double per_connection(long before, long after, int added)
{
	if (before < 0 || after < 0 || added <= 0)
		return -1;
	return (double)(after - before) / added;
}

static void report(const struct load_fleet *f, const struct load_options *o,
                   const struct idle_memory m[2], double connect_s)
{
	int added = f->ready - 1;
	bool ok = f->ready == f->count && f->failed == 0 && f->loop->lost == 0;

	load_report_text("scenario", "idle");
	load_report_text("mode", o->mode == LOAD_PRODUCT ? "product" : "plain");
	load_report_int("clients", f->count);
	load_report_int("connected", f->ready);
	load_report_real("connect_s", connect_s);
	/* Over connecting and settling, the busy part of this scenario. */
	load_report_real("gen_cpu_pct",
	                 100.0 * (m[1].self_cpu_s - m[0].self_cpu_s) /
	                     (connect_s + IDLE_SETTLE_MS / 1000.0));
	load_report_int("broker_base_kb", m[0].broker_kb);
	load_report_int("broker_kb", m[1].broker_kb);
	load_report_real("broker_kb_per_conn",
	                 per_connection(m[0].broker_kb, m[1].broker_kb, added));
	load_report_int("bridge_base_kb", m[0].bridge_kb);
	load_report_int("bridge_kb", m[1].bridge_kb);
	load_report_real("bridge_kb_per_conn",
	                 per_connection(m[0].bridge_kb, m[1].bridge_kb, added));
	load_report_int("lost_connections", f->loop->lost);
	load_report_int("ok", ok);
	load_report_end();
}

static int connect_all(struct load_fleet *f, const struct load_options *o,
                       struct idle_memory m[2], double *connect_s)
{
	long long start;

	if (load_fleet_connect(f, 0, 1, 1, IDLE_STEP_MS) != 0)
		return -1;
	if (o->mode == LOAD_PRODUCT &&
	    load_fleet_await_service(f, 0, IDLE_STEP_MS) != 0)
		return -1;
	measure(f, o, &m[0]);
	start = load_now_ns();
	if (load_fleet_connect(f, 1, f->count - 1, o->parallel,
	                       IDLE_CONNECT_MS) != 0)
		return -1;
	*connect_s = (double)(load_now_ns() - start) / 1e9;
	measure(f, o, &m[1]);
	return 0;
}

int load_run_idle(const struct load_options *o, const struct load_roster *r)
{
	struct idle_memory m[2] = {{-1, -1, 0}, {-1, -1, 0}};
	struct load_fleet fleet;
	struct load_loop loop;
	double connect_s = -1;
	int clients = client_budget(o->clients), rc = LOAD_RUN_ERROR;

	if (clients < 2 || load_loop_init(&loop) != 0)
		return LOAD_RUN_ERROR;
	if (load_fleet_init(&fleet, &loop, o->port, clients) == 0 &&
	    name_clients(&fleet, o, r) == 0 &&
	    connect_all(&fleet, o, m, &connect_s) == 0) {
		report(&fleet, o, m, connect_s);
		rc = fleet.ready == clients ? LOAD_RUN_OK : LOAD_RUN_FAILED;
	}
	load_fleet_free(&fleet);
	load_loop_free(&loop);
	return rc;
}
