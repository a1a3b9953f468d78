/*
 * The admin CLI's group commands against a running server: chatctl hands
 * each change to the bridge and prints its outcome, and the members get the
 * same system messages as for a member's own request.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT test_timeout_ms(5000)

#define OUT_MAX 4096

struct cast {
	struct chat_server *srv;
	char tokens[4][TEST_TOKEN_MAX];
	struct test_client *c[4]; /* alice, bob, carol, dave */
};

static const char *const names[] = {"alice", "bob", "carol", "dave"};

static void cast_up(struct chat_fixture *fx, struct cast *k)
{
	k->srv = chat_fixture_server(fx, NULL);
	for (int i = 0; i < 4; i++) {
		chat_fixture_user(k->srv, names[i], k->tokens[i]);
		k->c[i] = chat_fixture_connect(k->srv, names[i], k->tokens[i]);
	}
}

/* The system message at seq that c received: its type and author. */
static cJSON *expect_system(struct test_client *c, const char *convo, long seq,
                            const char *type, const char *from)
{
	cJSON *msg = test_client_wait_message(c, convo, seq, WAIT);

	if (msg == NULL)
		fail_msg("%s: no seq %ld (%s)", c->user, seq, type);
	assert_string_equal(test_json_string(msg, "type"), type);
	assert_string_equal(test_json_string(msg, "from"), from);
	assert_int_equal(strncmp(test_json_string(msg, "cmid"), "op ", 3), 0);
	return msg;
}

static const char *event_string(const cJSON *msg, const char *name)
{
	return test_json_string(cJSON_GetObjectItem(msg, "event"), name);
}

/* Squeezes runs of blanks, so table rows compare without widths. */
static void squeeze(char *text)
{
	char *to = text;

	for (const char *from = text; *from; from++) {
		if (*from == ' ' && to > text && to[-1] == ' ')
			continue;
		*to++ = *from;
	}
	*to = '\0';
}

CHAT_TEST(chatctl_creates_and_changes_a_group_through_the_bridge)
{
	char out[OUT_MAX], convo[TEST_ID_MAX], line[256];
	struct test_db_member row;
	struct cast k;
	cJSON *msg;

	cast_up(fx, &k);
	assert_int_equal(chat_server_ctl(k.srv, convo, sizeof(convo), "group",
	                                 "create", "climbing", "--owner",
	                                 "alice", "--member", "bob", NULL),
	                 0);
	assert_int_equal(strncmp(convo, "c_", 2), 0);
	msg = expect_system(k.c[1], convo, 1, "created", "alice");
	assert_string_equal(event_string(msg, "title"), "climbing");
	assert_non_null(expect_system(k.c[0], convo, 1, "created", "alice"));

	assert_int_equal(chat_server_ctl(k.srv, out, sizeof(out), "group",
	                                 "add", convo, "carol", "dave", NULL),
	                 0);
	assert_string_equal(out, "added carol, dave (seq 2)");
	expect_system(k.c[2], convo, 2, "added", "$admin");
	expect_system(k.c[0], convo, 2, "added", "$admin");

	assert_int_equal(chat_server_ctl(k.srv, out, sizeof(out), "group",
	                                 "rename", convo, "crag rats", NULL),
	                 0);
	snprintf(line, sizeof(line), "renamed %s to crag rats (seq 3)", convo);
	assert_string_equal(out, line);
	msg = expect_system(k.c[3], convo, 3, "renamed", "$admin");
	assert_string_equal(event_string(msg, "title"), "crag rats");

	assert_int_equal(chat_server_ctl(k.srv, out, sizeof(out), "group",
	                                 "role", convo, "bob", "admin", NULL),
	                 0);
	snprintf(line, sizeof(line), "bob is now admin of %s (seq 4)", convo);
	assert_string_equal(out, line);
	msg = expect_system(k.c[2], convo, 4, "role", "$admin");
	assert_string_equal(event_string(msg, "user"), "bob");
	assert_string_equal(event_string(msg, "role"), "admin");

	/* --by names who makes the change. */
	assert_int_equal(chat_server_ctl(k.srv, out, sizeof(out), "group",
	                                 "remove", convo, "dave", "--by",
	                                 "alice", NULL),
	                 0);
	assert_string_equal(out, "removed dave (seq 5)");
	expect_system(k.c[3], convo, 5, "removed", "alice");
	assert_int_equal(test_db_member(k.srv, convo, "dave", &row), 0);
	assert_int_equal(row.left, 5);

	assert_int_equal(chat_server_ctl(k.srv, out, sizeof(out), "group",
	                                 "members", convo, NULL),
	                 0);
	squeeze(out);
	assert_non_null(strstr(out, "alice admin 0 - "));
	assert_non_null(strstr(out, "bob admin 0 - "));
	assert_non_null(strstr(out, "carol member 1 - "));
	assert_non_null(strstr(out, "dave member 1 5 "));
	assert_int_equal(
	    chat_server_ctl(k.srv, out, sizeof(out), "convo", "list", NULL), 0);
	squeeze(out);
	snprintf(line, sizeof(line), "%s group inbox 5 3 crag rats", convo);
	assert_non_null(strstr(out, line));

	/* A channel, and how the listing shows it. */
	assert_int_equal(chat_server_ctl(k.srv, convo, sizeof(convo), "group",
	                                 "create", "notices", "--owner",
	                                 "carol", "--member", "alice",
	                                 "--member", "dave", "--channel", NULL),
	                 0);
	assert_int_equal(chat_server_ctl(k.srv, out, sizeof(out), "convo",
	                                 "list", "--user", "dave", NULL),
	                 0);
	squeeze(out);
	snprintf(line, sizeof(line), "%s channel broadcast 1 3 notices", convo);
	assert_non_null(strstr(out, line));
	assert_null(strstr(out, "crag rats"));
}

/* Runs a chatctl command that the bridge refuses: exit 1 and the code. */
static void expect_refusal(struct cast *k, const char *code, const char *a1,
                           const char *a2, const char *a3, const char *a4,
                           const char *a5, const char *a6)
{
	char out[OUT_MAX], err[OUT_MAX], prefix[64];

	assert_int_equal(chat_server_ctl_status(k->srv, out, sizeof(out), err,
	                                        sizeof(err), a1, a2, a3, a4, a5,
	                                        a6, NULL),
	                 1);
	snprintf(prefix, sizeof(prefix), "chatctl: %s: ", code);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", prefix, err);
	assert_string_equal(out, "");
}

CHAT_TEST(chatctl_reports_what_the_bridge_refuses)
{
	char convo[TEST_ID_MAX];
	struct cast k;

	cast_up(fx, &k);
	assert_int_equal(chat_server_ctl(k.srv, convo, sizeof(convo), "group",
	                                 "create", "strict", "--owner", "alice",
	                                 "--member", "bob", NULL),
	                 0);
	expect_refusal(&k, "last_admin", "group", "role", convo, "alice",
	               "member", NULL);
	expect_refusal(&k, "no_such_user", "group", "add", convo, "zed", NULL,
	               NULL);
	expect_refusal(&k, "not_member", "group", "add", "c_nowhere", "carol",
	               NULL, NULL);
	/* Nothing happened: the log holds the created message only. */
	assert_int_equal(test_db_count_messages(k.srv, convo), 1);
	assert_int_equal(test_client_quiet(k.c[2], 300), 0);
}

CHAT_TEST(without_a_bridge_chatctl_gives_up_and_the_change_never_happens)
{
	char out[OUT_MAX], err[OUT_MAX], convo[TEST_ID_MAX];
	const char *params[] = {NULL};
	struct cast k;
	int status;

	cast_up(fx, &k);
	assert_int_equal(chat_server_ctl(k.srv, convo, sizeof(convo), "group",
	                                 "create", "patient", "--owner",
	                                 "alice", "--member", "bob", NULL),
	                 0);
	assert_int_equal(chat_server_stop_bridge(k.srv), 0);

	setenv("CHATCTL_BRIDGE_WAIT_MS", "500", 1);
	status =
	    chat_server_ctl_status(k.srv, out, sizeof(out), err, sizeof(err),
	                           "group", "add", convo, "carol", NULL);
	unsetenv("CHATCTL_BRIDGE_WAIT_MS");
	assert_int_equal(status, 1);
	assert_string_equal(err, "chatctl: no bridge answered within 0.5 s; "
	                         "is the server running (make run)?\n");
	assert_string_equal(out, "");
	assert_int_equal(test_db_integer(k.srv,
	                                 "SELECT count(*) FROM admin_requests",
	                                 params),
	                 1);

	/* A bridge starting later finds nothing to do. */
	assert_int_equal(chat_server_start_bridge(k.srv), 0);
	assert_int_equal(test_client_quiet(k.c[2], 500), 0);
	assert_int_equal(test_db_count_messages(k.srv, convo), 1);
}

CHAT_TEST(chatctl_waits_for_a_bridge_that_comes_back_in_time)
{
	char program[PATH_MAX + 16], output_path[PATH_MAX + 16];
	char convo[TEST_ID_MAX];
	char *argv[] = {program,  "-c",  NULL,       "group",
	                "rename", convo, "patience", NULL};
	struct test_process *ctl;
	struct cast k;
	char *output;

	cast_up(fx, &k);
	assert_int_equal(chat_server_ctl(k.srv, convo, sizeof(convo), "group",
	                                 "create", "waiting", "--owner",
	                                 "alice", "--member", "bob", NULL),
	                 0);
	assert_int_equal(chat_server_stop_bridge(k.srv), 0);
	snprintf(program, sizeof(program), "%s/chatctl", k.srv->build_dir);
	snprintf(output_path, sizeof(output_path), "%s/chatctl.out",
	         k.srv->dir);
	argv[2] = k.srv->conf_path;
	ctl = chat_server_spawn_helper(k.srv, "chatctl", argv, output_path);
	assert_non_null(ctl);

	test_sleep_ms(500);
	assert_int_equal(chat_server_start_bridge(k.srv), 0);
	assert_int_equal(test_process_wait(ctl, test_timeout_ms(10000)), 0);
	assert_true(WIFEXITED(ctl->status));
	assert_int_equal(WEXITSTATUS(ctl->status), 0);
	output = test_read_file(output_path, NULL);
	assert_non_null(output);
	assert_non_null(strstr(output, "renamed"));
	free(output);
	assert_string_equal(
	    test_json_string(
	        cJSON_GetObjectItem(
	            expect_system(k.c[1], convo, 2, "renamed", "$admin"),
	            "event"),
	        "title"),
	    "patience");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        chatctl_creates_and_changes_a_group_through_the_bridge),
	    CHAT_TEST_ENTRY(chatctl_reports_what_the_bridge_refuses),
	    CHAT_TEST_ENTRY(
	        without_a_bridge_chatctl_gives_up_and_the_change_never_happens),
	    CHAT_TEST_ENTRY(chatctl_waits_for_a_bridge_that_comes_back_in_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
