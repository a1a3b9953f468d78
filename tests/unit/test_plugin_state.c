/* The plugin's in-memory state: message ids, pending hand-offs,
 * client-id ownership and answers meant for one connection. */
#include "idgen.h"
#include "plugin/auth_backoff.h"
#include "plugin/directed.h"
#include "plugin/inflight.h"
#include "plugin/limits.h"
#include "plugin/pending.h"
#include "plugin/presence.h"
#include "plugin/typing.h"
#include "plugin/sessions.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define T0 1764770000000LL /* some wall-clock time, ms */

static void ids_increase_and_carry_the_node(void **state)
{
	struct chat_idgen g;
	uint64_t a, b, c;

	(void)state;
	chat_idgen_init(&g, 5);
	a = chat_idgen_next(&g, T0);
	b = chat_idgen_next(&g, T0);
	c = chat_idgen_next(&g, T0 + 1);
	assert_true(a < b && b < c);
	assert_int_equal((a >> 12) & 1023, 5);
	assert_int_equal(a >> 63, 0);
	assert_int_equal((long long)(a >> 22), T0 - CHAT_ID_EPOCH_MS);
}

static void ids_keep_increasing_when_the_clock_steps_back(void **state)
{
	struct chat_idgen g;
	uint64_t a, b;

	(void)state;
	chat_idgen_init(&g, 1);
	a = chat_idgen_next(&g, T0);
	b = chat_idgen_next(&g, T0 - 60000);
	assert_true(b > a);
}

static void ids_survive_4096_in_one_millisecond(void **state)
{
	struct chat_idgen g;
	uint64_t last = 0;

	(void)state;
	chat_idgen_init(&g, 1);
	for (int i = 0; i < 10000; i++) {
		uint64_t id = chat_idgen_next(&g, T0);

		assert_true(id > last);
		last = id;
	}
}

static void ids_start_after_the_largest_stored_id(void **state)
{
	struct chat_idgen old, g;
	uint64_t stored, next;

	(void)state;
	chat_idgen_init(&old, 1);
	stored = chat_idgen_next(&old, T0 + 5000);
	chat_idgen_init(&g, 1);
	chat_idgen_after(&g, stored);
	next = chat_idgen_next(&g, T0); /* clock now behind the stored id */
	assert_true(next > stored);
}

static void pending_entry_is_found_until_removed(void **state)
{
	struct chat_pending p;

	(void)state;
	chat_pending_init(&p);
	assert_false(chat_pending_contains(&p, "c1", "alice", "m1", T0, 1000));
	assert_int_equal(chat_pending_add(&p, "c1", "alice", "m1", T0), 0);
	assert_true(chat_pending_contains(&p, "c1", "alice", "m1", T0, 1000));
	/* The same cmid from someone else or elsewhere is another message. */
	assert_false(chat_pending_contains(&p, "c1", "bob", "m1", T0, 1000));
	assert_false(chat_pending_contains(&p, "c2", "alice", "m1", T0, 1000));
	chat_pending_remove(&p, "c1", "alice", "m1");
	assert_false(chat_pending_contains(&p, "c1", "alice", "m1", T0, 1000));
	assert_int_equal(p.count, 0);
	chat_pending_clear(&p);
}

static void pending_entry_expires_after_the_window(void **state)
{
	struct chat_pending p;

	(void)state;
	chat_pending_init(&p);
	chat_pending_add(&p, "c1", "alice", "m1", T0);
	chat_pending_add(&p, "c1", "alice", "m2", T0 + 900);
	assert_false(
		chat_pending_contains(&p, "c1", "alice", "m1", T0 + 1500, 1000));
	chat_pending_expire(&p, T0 + 1500, 1000);
	assert_int_equal(p.count, 1);
	assert_true(
		chat_pending_contains(&p, "c1", "alice", "m2", T0 + 1500, 1000));
	/* Re-adding refreshes an entry instead of duplicating it. */
	chat_pending_add(&p, "c1", "alice", "m2", T0 + 1600);
	assert_int_equal(p.count, 1);
	chat_pending_clear(&p);
	assert_int_equal(p.count, 0);
}

static void client_id_belongs_to_its_first_user(void **state)
{
	struct chat_sessions s;
	int conn1, conn2;

	(void)state;
	chat_sessions_init(&s, 64);
	assert_true(chat_sessions_may_use(&s, "phone", "alice"));
	assert_int_equal(
		chat_sessions_connected(&s, "phone", "alice", &conn1, 1, false), 0);
	assert_false(chat_sessions_may_use(&s, "phone", "bob"));
	assert_true(chat_sessions_may_use(&s, "phone", "alice"));
	assert_int_equal(
		chat_sessions_connected(&s, "phone", "bob", &conn2, 1, false), -1);
	assert_string_equal(chat_sessions_owner(&s, "phone"), "alice");
	chat_sessions_clear(&s);
}

static void takeover_ignores_the_old_connections_disconnect(void **state)
{
	struct chat_sessions s;
	int old_conn, new_conn;

	(void)state;
	chat_sessions_init(&s, 64);
	chat_sessions_connected(&s, "phone", "alice", &old_conn, 1, false);
	chat_sessions_connected(&s, "phone", "alice", &new_conn, 1, false);
	assert_false(chat_sessions_disconnected(&s, "phone", &old_conn));
	assert_int_equal(s.connected, 1);
	assert_string_equal(chat_sessions_owner(&s, "phone"), "alice");
	assert_true(chat_sessions_disconnected(&s, "phone", &new_conn));
	assert_int_equal(s.connected, 0);
	chat_sessions_clear(&s);
}

static void clean_session_frees_the_id_durable_keeps_it(void **state)
{
	struct chat_sessions s;
	int conn;

	(void)state;
	chat_sessions_init(&s, 64);
	chat_sessions_connected(&s, "clean", "alice", &conn, 1, false);
	chat_sessions_connected(&s, "durable", "alice", &conn, 1, true);
	chat_sessions_disconnected(&s, "clean", &conn);
	chat_sessions_disconnected(&s, "durable", &conn);
	assert_true(chat_sessions_may_use(&s, "clean", "bob"));
	assert_false(chat_sessions_may_use(&s, "durable", "bob"));
	assert_int_equal(s.count, 1);
	assert_int_equal(s.connected, 0);
	chat_sessions_clear(&s);
}

static void a_user_keeps_a_bounded_number_of_client_ids(void **state)
{
	struct chat_sessions s;
	int conn[4];
	const char *ids[] = {"a", "b", "c", "d"};

	(void)state;
	chat_sessions_init(&s, 2);
	/* "a" is a device that connects again and again. */
	for (int i = 0; i < 3; i++) {
		chat_sessions_connected(&s, "a", "alice", &conn[0], 1, true);
		chat_sessions_disconnected(&s, "a", &conn[0]);
	}
	for (int i = 1; i < 3; i++) {
		chat_sessions_connected(&s, ids[i], "alice", &conn[i], 1, true);
		chat_sessions_disconnected(&s, ids[i], &conn[i]);
	}
	/* "b", used once, went for "c", though "a" was offline longer. */
	assert_false(chat_sessions_may_use(&s, "a", "bob"));
	assert_true(chat_sessions_may_use(&s, "b", "bob"));
	assert_false(chat_sessions_may_use(&s, "c", "bob"));
	/* Among ids used as often, the one offline the shortest goes. */
	chat_sessions_connected(&s, "b", "alice", &conn[1], 1, true);
	chat_sessions_disconnected(&s, "b", &conn[1]);
	assert_true(chat_sessions_may_use(&s, "c", "bob"));
	assert_false(chat_sessions_may_use(&s, "b", "bob"));
	chat_sessions_connected(&s, "c", "alice", &conn[2], 1, true);
	chat_sessions_disconnected(&s, "c", &conn[2]);
	assert_true(chat_sessions_may_use(&s, "b", "bob"));
	assert_false(chat_sessions_may_use(&s, "c", "bob"));
	/* Live connections are never released to make room. */
	chat_sessions_connected(&s, "b", "alice", &conn[1], 1, true);
	chat_sessions_connected(&s, "d", "alice", &conn[3], 1, true);
	assert_false(chat_sessions_may_use(&s, "b", "bob"));
	assert_false(chat_sessions_may_use(&s, "d", "bob"));
	assert_true(chat_sessions_may_use(&s, "c", "bob"));
	assert_int_equal(chat_sessions_connections_of(&s, "alice"), 2);
	chat_sessions_clear(&s);
	assert_int_equal(s.count, 0);
}

static void unanswered_requests_are_counted_per_connection(void **state)
{
	struct chat_sessions s;
	int conn;

	(void)state;
	chat_sessions_init(&s, 8);
	chat_sessions_connected(&s, "phone", "alice", &conn, 1, false);
	chat_sessions_request_started(&s, "phone", T0);
	chat_sessions_request_started(&s, "phone", T0);
	assert_int_equal(chat_sessions_requests_of(&s, "phone"), 2);
	chat_sessions_request_answered(&s, "phone", T0 + 1000);
	assert_int_equal(chat_sessions_requests_of(&s, "phone"), 1);
	chat_sessions_forget_requests(&s);
	assert_int_equal(chat_sessions_requests_of(&s, "phone"), 0);
	/* Unanswered for longer than the timeout: presumed lost. */
	chat_sessions_request_started(&s, "phone", T0);
	chat_sessions_expire_requests(&s, T0 + 30000, 60000);
	assert_int_equal(chat_sessions_requests_of(&s, "phone"), 1);
	chat_sessions_expire_requests(&s, T0 + 62000, 60000);
	assert_int_equal(chat_sessions_requests_of(&s, "phone"), 0);
	chat_sessions_clear(&s);
}

static void inflight_requests_retire_in_order_or_when_lost(void **state)
{
	struct chat_inflight f;

	(void)state;
	assert_int_equal(chat_inflight_init(&f, 2), 0);
	assert_true(chat_inflight_start(&f, T0));
	assert_true(chat_inflight_start(&f, T0 + 10000));
	assert_false(chat_inflight_start(&f, T0 + 10000));
	chat_inflight_answered(&f);
	assert_true(chat_inflight_start(&f, T0 + 20000));
	/* The one of T0 + 10 s is lost by T0 + 71 s, the other not yet. */
	assert_int_equal(chat_inflight_expire(&f, T0 + 71000, 60000), 1);
	assert_int_equal(f.count, 1);
	assert_int_equal(chat_inflight_expire(&f, T0 + 81000, 60000), 1);
	assert_int_equal(f.count, 0);
	chat_inflight_answered(&f); /* a late answer changes nothing */
	assert_int_equal(f.count, 0);
	chat_inflight_free(&f);
}

static void rate_limit_allows_a_burst_then_the_rate(void **state)
{
	struct chat_limits l;
	int allowed = 0;
	const struct chat_rate rates[CHAT_LIMIT_KINDS] = {
		[CHAT_LIMIT_SEND] = {10, 5},
		[CHAT_LIMIT_REQUEST] = {1, 1},
		[CHAT_LIMIT_RECEIPT] = {1, 1},
	};

	(void)state;
	chat_limits_init(&l, rates);
	for (int i = 0; i < 20; i++)
		allowed += chat_limits_take(&l, CHAT_LIMIT_SEND, "alice", T0);
	assert_int_equal(allowed, 5);
	/* 10 a second: one more token every 100 ms. */
	assert_false(chat_limits_take(&l, CHAT_LIMIT_SEND, "alice", T0 + 50));
	assert_true(chat_limits_take(&l, CHAT_LIMIT_SEND, "alice", T0 + 100));
	/* Others have their own buckets, and requests their own. */
	assert_true(chat_limits_take(&l, CHAT_LIMIT_SEND, "bob", T0));
	assert_true(chat_limits_take(&l, CHAT_LIMIT_REQUEST, "alice", T0));
	assert_false(chat_limits_take(&l, CHAT_LIMIT_REQUEST, "alice", T0));
	chat_limits_expire(&l, T0 + 3600 * 1000);
	assert_null(l.by_user);
	chat_limits_clear(&l);
}

/* A fake connection table and a record of what presence published. */
static size_t fake_connections[4];
static char published[16][32];
static int published_count;

static size_t connections_of(const char *user, void *arg)
{
	(void)arg;
	return fake_connections[user[0] - 'a'];
}

static void record(const struct chat_presence_change *c, void *arg)
{
	(void)arg;
	snprintf(published[published_count++ % 16], 32, "%s %s%s", c->user,
		 c->online ? "online" : "offline",
		 c->restated ? " again" : "");
}

static void presence_setup(struct chat_presence *p)
{
	memset(fake_connections, 0, sizeof(fake_connections));
	published_count = 0;
	chat_presence_init(p, 5000, 2000);
}

static void step(struct chat_presence *p, long long t)
{
	chat_presence_evaluate(p, t, connections_of, record, NULL);
}

static void presence_online_while_any_device_is_connected(void **state)
{
	struct chat_presence p;

	(void)state;
	presence_setup(&p);
	fake_connections[0] = 1; /* alice's phone */
	chat_presence_touch(&p, "alice", T0);
	step(&p, T0);
	assert_int_equal(published_count, 1);
	assert_string_equal(published[0], "alice online");
	fake_connections[0] = 2; /* and her laptop */
	chat_presence_touch(&p, "alice", T0 + 100);
	fake_connections[0] = 1; /* the phone leaves */
	chat_presence_touch(&p, "alice", T0 + 3000);
	step(&p, T0 + 10000);
	assert_int_equal(published_count, 1);
	fake_connections[0] = 0; /* the laptop too */
	chat_presence_touch(&p, "alice", T0 + 20000);
	step(&p, T0 + 24000); /* within the grace period */
	assert_int_equal(published_count, 1);
	step(&p, T0 + 25000);
	assert_int_equal(published_count, 2);
	assert_string_equal(published[1], "alice offline");
	chat_presence_clear(&p);
}

static void presence_does_not_flap_on_a_quick_reconnect(void **state)
{
	struct chat_presence p;

	(void)state;
	presence_setup(&p);
	fake_connections[1] = 1;
	chat_presence_touch(&p, "bob", T0);
	step(&p, T0);
	fake_connections[1] = 0;
	chat_presence_touch(&p, "bob", T0 + 10000);
	step(&p, T0 + 11000);
	fake_connections[1] = 1;
	chat_presence_touch(&p, "bob", T0 + 12000);
	step(&p, T0 + 20000);
	assert_int_equal(published_count, 1); /* only the first online */
	chat_presence_clear(&p);
}

static void presence_never_shows_a_connection_that_failed_at_once(void **state)
{
	struct chat_presence p;

	(void)state;
	presence_setup(&p);
	fake_connections[2] = 1;
	chat_presence_touch(&p, "carol", T0); /* authenticated */
	fake_connections[2] = 0;
	chat_presence_touch(&p, "carol", T0); /* gone before the TICK */
	step(&p, T0);
	step(&p, T0 + 60000);
	assert_int_equal(published_count, 0);
	chat_presence_clear(&p);
}

static void presence_changes_at_most_once_per_interval(void **state)
{
	struct chat_presence p;

	(void)state;
	presence_setup(&p);
	p.grace_ms = 0;
	fake_connections[0] = 1;
	chat_presence_touch(&p, "alice", T0);
	step(&p, T0);
	fake_connections[0] = 0;
	chat_presence_touch(&p, "alice", T0 + 100);
	step(&p, T0 + 100);
	assert_int_equal(published_count, 1);
	step(&p, T0 + 2000);
	assert_int_equal(published_count, 2);
	chat_presence_clear(&p);
}

static void presence_stale_online_is_corrected_after_a_restart(void **state)
{
	struct chat_presence p;

	(void)state;
	presence_setup(&p);
	chat_presence_assume_online(&p, "alice", T0);
	chat_presence_assume_online(&p, "bob", T0);
	fake_connections[1] = 1; /* bob reconnects in time */
	chat_presence_touch(&p, "bob", T0 + 1000);
	step(&p, T0 + 1000);
	/* The broker's retained copy of bob may be gone: shown again. */
	assert_int_equal(published_count, 1);
	assert_string_equal(published[0], "bob online again");
	step(&p, T0 + 4000);
	assert_int_equal(published_count, 1);
	step(&p, T0 + 5000);
	assert_int_equal(published_count, 2);
	assert_string_equal(published[1], "alice offline");
	step(&p, T0 + 60000);
	assert_int_equal(published_count, 2);
	chat_presence_clear(&p);
}

static void presence_offline_users_are_published_again_after_a_restart(
	void **state)
{
	struct chat_presence p;

	(void)state;
	presence_setup(&p);
	chat_presence_touch(&p, "carol", T0); /* connected at start-up */
	fake_connections[2] = 1;
	chat_presence_restate_offline(&p, "alice", T0 - 90000);
	chat_presence_restate_offline(&p, "carol", T0 - 90000);
	step(&p, T0);
	assert_int_equal(published_count, 2);
	assert_string_equal(published[0], "carol online");
	assert_string_equal(published[1], "alice offline again");
	step(&p, T0 + 60000);
	assert_int_equal(published_count, 2);
	assert_false(chat_presence_shown_online(&p, "alice"));
	assert_true(chat_presence_shown_online(&p, "carol"));
	chat_presence_clear(&p);
}

static void auth_backoff_starts_after_the_free_failures_and_doubles(
	void **state)
{
	struct chat_auth_backoff b;
	const char *a1 = "10.0.0.1";

	(void)state;
	chat_auth_backoff_init(&b, 2, 100, 5000);
	chat_auth_backoff_failed(&b, "alice", a1, T0);
	chat_auth_backoff_failed(&b, "alice", a1, T0);
	assert_int_equal(chat_auth_backoff_wait(&b, "alice", a1, T0), 0);
	chat_auth_backoff_failed(&b, "alice", a1, T0);
	assert_int_equal(chat_auth_backoff_wait(&b, "alice", a1, T0), 1000);
	/* Failures from one address do not lock alice out of another, nor
	 * bob out of this one. */
	assert_int_equal(chat_auth_backoff_wait(&b, "alice", "10.0.0.9", T0),
			 0);
	assert_int_equal(chat_auth_backoff_wait(&b, "bob", a1, T0), 0);
	chat_auth_backoff_failed(&b, "alice", a1, T0 + 1000);
	assert_int_equal(chat_auth_backoff_wait(&b, "alice", a1, T0 + 1000),
			 2000);
	chat_auth_backoff_failed(&b, "alice", a1, T0 + 3000);
	chat_auth_backoff_failed(&b, "alice", a1, T0 + 7000);
	/* 4 s, then 8 s capped at 5 s. */
	assert_int_equal(chat_auth_backoff_wait(&b, "alice", a1, T0 + 7000),
			 5000);
	chat_auth_backoff_succeeded(&b, "alice", a1);
	assert_int_equal(chat_auth_backoff_wait(&b, "alice", a1, T0 + 7000), 0);
	chat_auth_backoff_clear(&b);
}

static void auth_backoff_by_address_and_forgetting(void **state)
{
	struct chat_auth_backoff b;
	char long_name[200];

	(void)state;
	chat_auth_backoff_init(&b, 100, 1, 60000);
	chat_auth_backoff_failed(&b, NULL, "10.0.0.1", T0);
	chat_auth_backoff_failed(&b, "carol", "10.0.0.1", T0);
	assert_int_equal(chat_auth_backoff_wait(&b, "dave", "10.0.0.1", T0),
			 1000);
	assert_int_equal(chat_auth_backoff_wait(&b, "dave", "10.0.0.2", T0),
			 0);
	/* A name too long to be a key is counted for its address only. */
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	chat_auth_backoff_failed(&b, long_name, "10.0.0.3", T0);
	/* a/10.0.0.1, u/carol/10.0.0.1, a/10.0.0.3 */
	chat_auth_backoff_expire(&b, T0 + 60 * 1000);
	assert_int_equal(b.count, 3);
	chat_auth_backoff_expire(&b, T0 + 11 * 60 * 1000);
	assert_int_equal(b.count, 0);
	chat_auth_backoff_clear(&b);
}

/* A table filled with invented names still tracks new ones. */
static void auth_backoff_keeps_working_when_its_table_is_full(void **state)
{
	struct chat_auth_backoff b;
	char name[32], address[32];

	(void)state;
	chat_auth_backoff_init(&b, 1, 1000000, 60000);
	for (int i = 0; i < 60000; i++) {
		snprintf(name, sizeof(name), "junk%d", i);
		snprintf(address, sizeof(address), "10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		chat_auth_backoff_failed(&b, name, address, T0);
	}
	assert_int_equal(b.count, 100000);
	chat_auth_backoff_failed(&b, "victim", "9.9.9.9", T0 + 1);
	chat_auth_backoff_failed(&b, "victim", "9.9.9.9", T0 + 1);
	assert_int_equal(chat_auth_backoff_wait(&b, "victim", "9.9.9.9", T0 + 1),
			 1000);
	assert_int_equal(b.count, 100000);
	chat_auth_backoff_clear(&b);
}

static void typing_is_let_through_once_per_interval(void **state)
{
	struct chat_typing t;

	(void)state;
	chat_typing_init(&t, 1000);
	assert_true(chat_typing_allow(&t, "alice", "c1", T0));
	assert_false(chat_typing_allow(&t, "alice", "c1", T0 + 500));
	assert_true(chat_typing_allow(&t, "alice", "c2", T0 + 500));
	assert_true(chat_typing_allow(&t, "bob", "c1", T0 + 500));
	assert_true(chat_typing_allow(&t, "alice", "c1", T0 + 1000));
	chat_typing_expire(&t, T0 + 5000);
	assert_int_equal(t.count, 0);
	chat_typing_clear(&t);
}

#define RESP "chat/u/ann/resp"

static void an_answer_reaches_only_the_connection_that_asked(void **state)
{
	struct chat_directed d = {0};

	(void)state;
	assert_int_equal(chat_directed_add(&d, "ann-phone", RESP, "{\"id\":1}",
					   8),
			 0);
	/* Other messages, and the same topic with another payload, are
	 * not answers. */
	assert_int_equal(chat_directed_check(&d, "ann-laptop", RESP,
					     "{\"id\":2}", 8),
			 CHAT_DIRECTED_NONE);
	assert_int_equal(chat_directed_check(&d, "ann-laptop",
					     "chat/u/ann/msg", "{\"id\":1}", 8),
			 CHAT_DIRECTED_NONE);
	assert_int_equal(chat_directed_check(&d, "ann-laptop", RESP,
					     "{\"id\":1}", 8),
			 CHAT_DIRECTED_DENY);
	assert_int_equal(chat_directed_check(&d, "ann-phone", RESP,
					     "{\"id\":1}", 8),
			 CHAT_DIRECTED_ALLOW);
	/* Checked after the asker, and the asker's second subscription. */
	assert_int_equal(chat_directed_check(&d, "ann-laptop", RESP,
					     "{\"id\":1}", 8),
			 CHAT_DIRECTED_DENY);
	assert_int_equal(chat_directed_check(&d, "ann-phone", RESP,
					     "{\"id\":1}", 8),
			 CHAT_DIRECTED_DENY);
	chat_directed_clear(&d);
}

static void identical_answers_go_once_to_each_asker(void **state)
{
	struct chat_directed d = {0};

	(void)state;
	assert_int_equal(chat_directed_add(&d, "a", RESP, "same", 4), 0);
	assert_int_equal(chat_directed_add(&d, "b", RESP, "same", 4), 0);
	/* The first copy routed serves both; c is no asker. */
	assert_int_equal(chat_directed_check(&d, "b", RESP, "same", 4),
			 CHAT_DIRECTED_ALLOW);
	assert_int_equal(chat_directed_check(&d, "c", RESP, "same", 4),
			 CHAT_DIRECTED_DENY);
	assert_int_equal(chat_directed_check(&d, "a", RESP, "same", 4),
			 CHAT_DIRECTED_ALLOW);
	/* The second copy finds both served. */
	assert_int_equal(chat_directed_check(&d, "a", RESP, "same", 4),
			 CHAT_DIRECTED_DENY);
	assert_int_equal(chat_directed_check(&d, "b", RESP, "same", 4),
			 CHAT_DIRECTED_DENY);
	chat_directed_clear(&d);
}

static void answers_are_forgotten_two_ticks_after_publishing(void **state)
{
	struct chat_directed d = {0};

	(void)state;
	assert_int_equal(chat_directed_add(&d, "a", RESP, "x", 1), 0);
	chat_directed_tick(&d); /* the broker routes it in the next pass */
	assert_int_equal(d.count, 1);
	assert_int_equal(chat_directed_add(&d, "a", RESP, "y", 1), 0);
	chat_directed_tick(&d);
	assert_int_equal(d.count, 1);
	assert_int_equal(chat_directed_check(&d, "b", RESP, "x", 1),
			 CHAT_DIRECTED_NONE);
	assert_int_equal(chat_directed_check(&d, "b", RESP, "y", 1),
			 CHAT_DIRECTED_DENY);
	chat_directed_tick(&d);
	assert_int_equal(d.count, 0);
	assert_int_equal(chat_directed_check(&d, "b", RESP, "y", 1),
			 CHAT_DIRECTED_NONE);
	chat_directed_clear(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_increase_and_carry_the_node),
		cmocka_unit_test(ids_keep_increasing_when_the_clock_steps_back),
		cmocka_unit_test(ids_survive_4096_in_one_millisecond),
		cmocka_unit_test(ids_start_after_the_largest_stored_id),
		cmocka_unit_test(pending_entry_is_found_until_removed),
		cmocka_unit_test(pending_entry_expires_after_the_window),
		cmocka_unit_test(client_id_belongs_to_its_first_user),
		cmocka_unit_test(takeover_ignores_the_old_connections_disconnect),
		cmocka_unit_test(clean_session_frees_the_id_durable_keeps_it),
		cmocka_unit_test(a_user_keeps_a_bounded_number_of_client_ids),
		cmocka_unit_test(unanswered_requests_are_counted_per_connection),
		cmocka_unit_test(rate_limit_allows_a_burst_then_the_rate),
		cmocka_unit_test(presence_online_while_any_device_is_connected),
		cmocka_unit_test(presence_does_not_flap_on_a_quick_reconnect),
		cmocka_unit_test(
			presence_never_shows_a_connection_that_failed_at_once),
		cmocka_unit_test(presence_changes_at_most_once_per_interval),
		cmocka_unit_test(
			presence_stale_online_is_corrected_after_a_restart),
		cmocka_unit_test(
			presence_offline_users_are_published_again_after_a_restart),
		cmocka_unit_test(typing_is_let_through_once_per_interval),
		cmocka_unit_test(inflight_requests_retire_in_order_or_when_lost),
		cmocka_unit_test(
			auth_backoff_starts_after_the_free_failures_and_doubles),
		cmocka_unit_test(auth_backoff_by_address_and_forgetting),
		cmocka_unit_test(an_answer_reaches_only_the_connection_that_asked),
		cmocka_unit_test(identical_answers_go_once_to_each_asker),
		cmocka_unit_test(
		    answers_are_forgotten_two_ticks_after_publishing),
		cmocka_unit_test(
			auth_backoff_keeps_working_when_its_table_is_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
