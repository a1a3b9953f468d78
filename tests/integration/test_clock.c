/*
 * A step of the wall clock (NTP correcting a clock that ran ahead, or an
 * operator): the broker runs under libfaketime and the test moves its wall
 * clock an hour back in the middle of a login back-off. Messages carry the
 * stepped wall-clock time, which also shows the step took effect; the
 * back-off, timed on the monotonic clock, ends when it should.
 */
#include "../harness/fixture.h"
#include "../harness/presence.h"

#include <stdio.h>
#include <string.h>

#define WAIT       test_timeout_ms(5000)
#define BACKOFF_MS 1000 /* the first refusal period (auth_backoff.c) */
#define STEP_S     (-3600L)

static int try_connect(struct chat_server *srv, const char *user,
                       const char *password)
{
	return test_client_try_connect(srv, user, password, 4);
}

/* alice sends a message; its ts as her tick shows it. */
static long long sent_ts(struct chat_scene *s, const char *cmid)
{
	cJSON *tick;

	assert_int_equal(test_client_send(s->alice, s->convo, cmid, "now?",
	                                  NULL),
	                 0);
	tick = test_client_wait_tick(s->alice, s->convo, cmid, WAIT);
	assert_non_null(tick);
	return (long long)test_json_number(tick, "ts");
}

CHAT_TEST(a_step_back_of_the_wall_clock_moves_ts_but_does_not_lengthen_a_back_off)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"auth_free_failures_per_user 1",
	                       "auth_backoff_max_ms 4000"},
	    .fake_wall_clock = true};
	struct chat_scene s;
	long long before, ts;

	/* libfaketime preloaded beside ASan's runtime hangs at start, and
	 * is not meant for memcheck: the plain build's run covers it. */
	if (test_valgrind() || test_sanitized())
		skip();
	chat_fixture_scene(fx, &cfg, &s);
	before = test_wall_ms();
	ts = sent_ts(&s, "before-step");
	assert_in_range(ts, before, test_wall_ms());

	/* One free failure, then the second starts a refusal period. */
	assert_true(try_connect(s.srv, "alice", "a-wrong-token") > 0);
	assert_true(try_connect(s.srv, "alice", "a-wrong-token") > 0);
	assert_true(try_connect(s.srv, "alice", s.alice_token) > 0);

	assert_int_equal(chat_server_step_clock(s.srv, STEP_S), 0);
	test_sleep_ms(BACKOFF_MS + 200);

	/* The broker's wall clock is an hour behind now... */
	before = test_wall_ms();
	ts = sent_ts(&s, "after-step");
	assert_in_range(ts, before + STEP_S * 1000 - 100,
	                test_wall_ms() + STEP_S * 1000 + 100);
	/* ...and the period, 1 s long, is over all the same. */
	assert_int_equal(try_connect(s.srv, "alice", s.alice_token), 0);
	assert_true(test_client_connected(s.bob));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_step_back_of_the_wall_clock_moves_ts_but_does_not_lengthen_a_back_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
