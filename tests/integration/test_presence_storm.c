/*
 * A reconnection storm with the default presence settings (5 s grace, at
 * most one change per 2 s): 2,000 users drop and come back at once. Each
 * user's presence changes at most once (here: not at all, since everyone
 * is back within the grace period), everyone is shown online afterwards,
 * and a pair of users keeps exchanging messages through it with bounded
 * latency. Prints the presence traffic the storm caused.
 *
 * A watcher who shares a channel with all of them subscribes to every
 * presence topic, so every change any of them makes reaches it.
 */
#include "../harness/fixture.h"
#include "../harness/presence.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define WAIT        test_timeout_ms(5000)
#define USERS       2000
#define GRACE_MS    5000 /* the defaults of PROTOCOL.md */
#define INTERVAL_MS 2000
/* After the storm began: when any flap it caused would have shown. */
#define STORM_WATCH_MS (GRACE_MS + test_timeout_ms(1000))
#define STORM_ROUNDS   2
#define PING_PAUSE_MS  50
#define PING_WAIT_MS   test_timeout_ms(10000)
/* The slowest message the pair may see while the storm rages. */
#define PING_BOUND_MS test_timeout_ms(2000)

/* alice sends to bob, one message at a time, and times each. */
struct pinger {
	struct test_client *from, *to;
	const char *convo;
	pthread_t thread;
	atomic_bool stop;
	int sent, delivered;
	long long worst_ms, total_ms;
};

static void *ping_until_stopped(void *arg)
{
	struct pinger *p = arg;

	while (!atomic_load(&p->stop)) {
		struct test_match m = {.kind = "msg", .convo = p->convo};
		size_t since = test_client_mark(p->to);
		long long start = test_now_ms(), took;
		char cmid[32];

		snprintf(cmid, sizeof(cmid), "ping-%d", p->sent + 1);
		m.cmid = cmid;
		if (test_client_send(p->from, p->convo, cmid, "ping", NULL) !=
		    0)
			break;
		p->sent++;
		if (test_client_wait(p->to, &m, since, PING_WAIT_MS) == NULL)
			continue;
		took = test_now_ms() - start;
		p->delivered++;
		p->total_ms += took;
		if (took > p->worst_ms)
			p->worst_ms = took;
		test_sleep_ms(PING_PAUSE_MS);
	}
	return NULL;
}

/* The storm's connections and the watcher's subscriptions need about two
 * descriptors per user, in this process and in the broker, which inherits
 * the limit when it starts. */
static void raise_open_files(void)
{
	rlim_t want = 2 * USERS + 512;
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		fail_msg("%d users need %llu open files; the hard limit is "
		         "%llu",
		         USERS, (unsigned long long)want,
		         (unsigned long long)rl.rlim_max);
	rl.rlim_cur = want;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Index of the storm user a presence topic is about, or -1. */
static int user_index(const char *topic)
{
	static const char prefix[] = TEST_PREFIX "/presence/s";
	char *end;
	long i;

	if (strncmp(topic, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	i = strtol(topic + sizeof(prefix) - 1, &end, 10);
	return *end == '\0' && i >= 0 && i < USERS ? (int)i : -1;
}

/* Counts presence publishes per storm user from index since on, and
 * whether the newest one says online. Returns the total. */
static size_t count_changes(struct test_client *watcher, size_t since,
                            int counts[USERS], bool online[USERS])
{
	const struct test_inbox_entry *e;
	size_t total = 0;

	for (size_t k = since; (e = test_client_entry(watcher, k)); k++) {
		int i = user_index(e->topic);

		if (i < 0)
			continue;
		counts[i]++;
		online[i] =
		    cJSON_IsTrue(cJSON_GetObjectItem(e->json, "online"));
		total++;
	}
	return total;
}

/* Waits until the watcher has seen every storm user online. Returns the
 * presence publishes it received so far. */
static size_t wait_all_online(struct test_client *watcher, int timeout_ms)
{
	static int counts[USERS];
	static bool online[USERS];
	long long deadline = test_now_ms() + timeout_ms;
	size_t total;
	int shown;

	do {
		test_sleep_ms(100);
		memset(counts, 0, sizeof(counts));
		memset(online, 0, sizeof(online));
		total = count_changes(watcher, 0, counts, online);
		shown = 0;
		for (int i = 0; i < USERS; i++)
			shown += online[i];
	} while (shown < USERS && test_now_ms() < deadline);
	if (shown < USERS)
		fail_msg("only %d of %d users shown online", shown, USERS);
	return total;
}

static struct test_client *watcher_of_everyone(struct chat_server *srv,
                                               const struct test_account *a,
                                               struct test_account *w)
{
	static const char *names[USERS];
	struct test_account watcher;
	struct test_client *c;
	char convo[TEST_ID_MAX];
	long long start;

	chat_fixture_accounts(srv, "watcher", &watcher, 1);
	c = chat_fixture_connect(srv, watcher.user, watcher.token);
	test_account_names(a, USERS, names);
	chat_fixture_group(c, "everyone", names, USERS, true, convo);
	start = test_now_ms();
	for (int i = 0; i < USERS; i++)
		assert_int_equal(test_presence_subscribe(c, a[i].user), 1);
	print_message("watcher subscribed to %d presence topics in %lld ms\n",
	              USERS, test_now_ms() - start);
	if (w)
		*w = watcher;
	return c;
}

/* The watcher gets a publish for each of 2,000 users at once: more than
 * the broker queues for one client by default. */
static const struct chat_server_config watcher_queue = {
    .broker_lines = {"max_queued_messages 10000"}};

CHAT_TEST(a_reconnection_storm_changes_presence_at_most_once_per_user)
{
	static struct test_account a[USERS];
	static int counts[USERS];
	static bool online[USERS];
	struct pinger ping = {0};
	struct test_client *watcher;
	struct test_fleet *fleet;
	struct chat_scene s;
	long long start, back, last;
	size_t mark, total;
	int most = 0, changed = 0, reconnected = 0;

	raise_open_files();
	chat_fixture_scene(fx, &watcher_queue, &s);
	chat_fixture_accounts(s.srv, "s", a, USERS);
	watcher = watcher_of_everyone(s.srv, a, NULL);

	fleet = test_fleet_new(s.srv, USERS);
	assert_non_null(fleet);
	start = test_now_ms();
	assert_int_equal(test_fleet_connect(fleet, a, USERS, 6 * WAIT), 0);
	print_message("%d users connected in %lld ms\n", USERS,
	              test_now_ms() - start);
	total = wait_all_online(watcher, 4 * WAIT);
	mark = test_client_mark(watcher);
	print_message("connecting: %zu presence publishes\n", total);
	/* Past the minimum interval since those changes, so that only the
	 * grace period can keep the storm from showing. */
	last = test_client_entry(watcher, mark - 1)->received_ms;
	test_sleep_ms((int)(last + INTERVAL_MS + 200 - test_now_ms()));

	/* The storm: every connection goes and comes back, twice. */
	ping.from = s.alice;
	ping.to = s.bob;
	ping.convo = s.convo;
	assert_int_equal(
	    pthread_create(&ping.thread, NULL, ping_until_stopped, &ping), 0);
	/* No assertion while the pinger runs: it uses the clients a failed
	 * test would free. */
	start = test_now_ms();
	for (int round = 0; round < STORM_ROUNDS && reconnected == 0; round++) {
		test_fleet_free(fleet);
		fleet = test_fleet_new(s.srv, USERS);
		reconnected =
		    fleet ? test_fleet_connect(fleet, a, USERS, 6 * WAIT) : -1;
	}
	back = test_now_ms() - start;
	while (fleet && test_now_ms() - start < STORM_WATCH_MS)
		test_fleet_pump(fleet, 100);
	atomic_store(&ping.stop, true);
	pthread_join(ping.thread, NULL);
	assert_non_null(fleet);
	assert_int_equal(reconnected, 0);

	total = count_changes(watcher, mark, counts, online);
	for (int i = 0; i < USERS; i++) {
		most = counts[i] > most ? counts[i] : most;
		changed += counts[i] > 0;
	}
	print_message("storm: %d users dropped and came back %d times in "
	              "%lld ms; presence publishes: %zu in all, %.3f per "
	              "user, at most %d for one user, %d users changed\n",
	              USERS, STORM_ROUNDS, back, total, (double)total / USERS,
	              most, changed);
	print_message("messages during the storm: %d sent, %d delivered, "
	              "%lld ms on average, %lld ms at worst\n",
	              ping.sent, ping.delivered,
	              ping.delivered ? ping.total_ms / ping.delivered : 0,
	              ping.worst_ms);

	assert_true(most <= 1);
	for (int i = 0; i < USERS; i++) {
		if (counts[i] > 0 && !online[i])
			fail_msg("%s is shown offline after the storm",
			         a[i].user);
	}
	assert_true(ping.sent > 0);
	assert_int_equal(ping.delivered, ping.sent);
	assert_true(ping.worst_ms <= PING_BOUND_MS);
	test_fleet_free(fleet);
}

/* Counts the publishes per storm user the watcher received and checks
 * there is at most one each, the last one online. Returns the total. */
static size_t assert_once_online(struct test_client *watcher, size_t since,
                                 const struct test_account *a)
{
	static int counts[USERS];
	static bool online[USERS];
	size_t total;
	int most = 0;

	memset(counts, 0, sizeof(counts));
	memset(online, 0, sizeof(online));
	total = count_changes(watcher, since, counts, online);
	for (int i = 0; i < USERS; i++) {
		most = counts[i] > most ? counts[i] : most;
		if (!online[i])
			fail_msg("%s is not shown online", a[i].user);
	}
	print_message("presence publishes seen: %zu for %d users, at most %d "
	              "for one user\n",
	              total, USERS, most);
	assert_true(most <= 1);
	return total;
}

/*
 * The broker is killed and started again; 2,000 users reconnect at once.
 * Without broker persistence the retained presence died with it: each
 * user's "online" is published once again, no user flaps, a watcher
 * subscribed to all of them sees each online once, and messages flow.
 */
CHAT_TEST(a_storm_after_a_broker_restart_shows_each_user_online_once)
{
	static struct test_account a[USERS];
	struct test_client *watcher;
	struct test_fleet *fleet;
	struct chat_scene s;
	struct test_account w;
	long long start;
	size_t since;

	raise_open_files();
	chat_fixture_scene(fx, &watcher_queue, &s);
	chat_fixture_accounts(s.srv, "s", a, USERS);
	watcher = watcher_of_everyone(s.srv, a, &w);
	fleet = test_fleet_new(s.srv, USERS);
	assert_non_null(fleet);
	assert_int_equal(test_fleet_connect(fleet, a, USERS, 6 * WAIT), 0);
	wait_all_online(watcher, 4 * WAIT);

	chat_server_kill_broker(s.srv);
	test_client_close(watcher);
	test_fleet_free(fleet);
	start = test_now_ms();
	assert_int_equal(chat_server_start_broker(s.srv), 0);

	/* libmosquitto's clients poll with select(): they connect before
	 * the fleet takes the low descriptors. */
	assert_int_equal(test_client_wait_ready(s.alice, 2, WAIT), 0);
	assert_int_equal(test_client_wait_ready(s.bob, 2, WAIT), 0);
	watcher = chat_fixture_connect(s.srv, w.user, w.token);
	since = test_client_mark(watcher);
	for (int i = 0; i < USERS; i++)
		assert_int_equal(test_presence_subscribe(watcher, a[i].user),
		                 1);

	fleet = test_fleet_new(s.srv, USERS);
	assert_non_null(fleet);
	assert_int_equal(test_fleet_connect(fleet, a, USERS, 6 * WAIT), 0);
	print_message("%d users back %lld ms after the broker started\n",
	              USERS, test_now_ms() - start);
	while (test_now_ms() - start < STORM_WATCH_MS)
		test_fleet_pump(fleet, 100);
	assert_once_online(watcher, since, a);

	since = test_client_mark(s.bob);
	assert_int_equal(test_client_send(s.alice, s.convo, "after-storm",
	                                  "still here", NULL),
	                 0);
	assert_non_null(test_client_wait(
	    s.bob,
	    &(struct test_match){
	        .kind = "msg", .convo = s.convo, .cmid = "after-storm"},
	    since, WAIT));
	test_fleet_free(fleet);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_reconnection_storm_changes_presence_at_most_once_per_user),
	    CHAT_TEST_ENTRY(
	        a_storm_after_a_broker_restart_shows_each_user_online_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
