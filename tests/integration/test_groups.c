/*
 * Groups: every member sees one log in one order however many send at
 * once; a member added later sees it from the message that added them on,
 * a removed member hears nothing after the message that removed them; every
 * change is a system message at the same seq for all; only admins change a
 * group, and a change retried with the same request id is made once.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define QUIET_MS 500

#define TEN        10
#define EACH_SENDS 10
#define SEQS_MAX   512

/* ---- helpers ---- */

static struct chat_server *server_with(struct chat_fixture *fx,
                                       const char *const users[],
                                       char tokens[][TEST_TOKEN_MAX],
                                       struct test_client *clients[])
{
	struct chat_server *srv = chat_fixture_server(fx, NULL);

	for (int i = 0; users[i]; i++) {
		chat_fixture_user(srv, users[i], tokens[i]);
		clients[i] = chat_fixture_connect(srv, users[i], tokens[i]);
	}
	return srv;
}

/* Sends a request with a fresh id, copied into id; waits for the answer. */
static cJSON *request(struct test_client *c, const char *json, char *id)
{
	assert_int_equal(test_client_request_send(c, json, id), 0);
	return test_client_wait_response(c, id, WAIT);
}

/* The system message at seq as the client received it, checked against
 * what every system message is: type, no body, cmid "op <request id>". */
static cJSON *system_message(struct test_client *c, const char *convo, long seq,
                             const char *type, const char *from,
                             const char *request_id)
{
	cJSON *msg = test_client_wait_message(c, convo, seq, WAIT);
	char cmid[TEST_CMID_MAX + 4];

	if (msg == NULL)
		fail_msg("%s did not receive seq %ld (%s)", c->user, seq, type);
	assert_string_equal(test_json_string(msg, "type"), type);
	assert_string_equal(test_json_string(msg, "from"), from);
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(msg, "event")));
	assert_null(cJSON_GetObjectItem(msg, "body"));
	if (request_id) {
		snprintf(cmid, sizeof(cmid), "op %s", request_id);
		assert_string_equal(test_json_string(msg, "cmid"), cmid);
	}
	return msg;
}

/* True when the event's list `name` is exactly the given users. */
static bool event_lists(const cJSON *msg, const char *name,
                        const char *const users[], int count)
{
	const cJSON *event = cJSON_GetObjectItem(msg, "event");
	const cJSON *list = cJSON_GetObjectItem(event, name);

	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != count)
		return false;
	for (int i = 0; i < count; i++) {
		const cJSON *item = cJSON_GetArrayItem(list, i);

		if (!cJSON_IsString(item) ||
		    strcmp(item->valuestring, users[i]) != 0)
			return false;
	}
	return true;
}

static bool event_has(const cJSON *msg, const char *name, const char *value)
{
	return strcmp(test_json_string(cJSON_GetObjectItem(msg, "event"), name),
	              value) == 0;
}

/* The highest seq of the conversation the client received live. */
static long highest_seq(struct test_client *c, const char *convo)
{
	long seqs[SEQS_MAX], high = 0;
	size_t n = test_client_seqs(c, convo, seqs, SEQS_MAX);

	for (size_t i = 0; i < n && i < SEQS_MAX; i++)
		if (seqs[i] > high)
			high = seqs[i];
	return high;
}

static long lowest_seq(struct test_client *c, const char *convo)
{
	long seqs[SEQS_MAX], low = -1;
	size_t n = test_client_seqs(c, convo, seqs, SEQS_MAX);

	for (size_t i = 0; i < n && i < SEQS_MAX; i++)
		if (low < 0 || seqs[i] < low)
			low = seqs[i];
	return low;
}

static void assert_db_gap_free(struct chat_server *srv, const char *convo,
                               long head)
{
	long *seqs = NULL;
	size_t count = 0;

	assert_int_equal(test_db_seqs(srv, convo, &seqs, &count), 0);
	assert_int_equal(count, head);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(seqs[i], (long)i + 1);
	free(seqs);
}

/* ---- one order for everyone ---- */

/* Sends EACH_SENDS messages from every member, interleaved, without
 * waiting: the members' network threads publish at the same time. */
static void everyone_sends(struct test_client *c[], const char *convo)
{
	char cmid[32], body[128];

	for (int k = 0; k < EACH_SENDS; k++) {
		for (int i = 0; i < TEN; i++) {
			snprintf(cmid, sizeof(cmid), "m%d-%d", i, k);
			snprintf(body, sizeof(body), "message %d of %s", k,
			         c[i]->user);
			assert_int_equal(
			    test_client_send(c[i], convo, cmid, body, NULL), 0);
		}
	}
}

/*
 * The client's messages of the conversation by seq, first copy of each;
 * the seqs of first copies must rise in the order they arrived.
 */
static void collect_log(struct test_client *c, const char *convo,
                        const cJSON *by_seq[], long head)
{
	struct test_match m = {.kind = "msg", .convo = convo};
	size_t n = test_client_mark(c);
	long last = 0;

	for (long s = 0; s <= head; s++)
		by_seq[s] = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct test_inbox_entry *e = test_client_entry(c, i);
		long seq;

		if (!test_entry_matches(c, e, &m))
			continue;
		seq = (long)test_json_number(e->json, "seq");
		assert_in_range(seq, 1, head);
		if (by_seq[seq] != NULL)
			continue; /* a repeat: deduplicated by (convo, seq) */
		assert_true(seq > last);
		last = seq;
		by_seq[seq] = e->json;
	}
	for (long s = 1; s <= head; s++)
		assert_non_null(by_seq[s]);
}

static void assert_same_message(const cJSON *a, const cJSON *b)
{
	static const char *const fields[] = {"id",   "from", "cmid",
	                                     "body", "type", NULL};

	for (int i = 0; fields[i]; i++)
		assert_string_equal(test_json_string(a, fields[i]),
		                    test_json_string(b, fields[i]));
	assert_int_equal(test_json_number(a, "ts"), test_json_number(b, "ts"));
}

CHAT_TEST(ten_members_sending_at_once_all_get_one_log_in_one_order)
{
	static const cJSON *logs[TEN][1 + TEN * EACH_SENDS + 1];
	const long head = 1 + TEN * EACH_SENDS;
	struct test_account a[TEN];
	struct test_client *c[TEN];
	const char *others[TEN - 1];
	char convo[TEST_ID_MAX], cmid[32];
	struct chat_server *srv = chat_fixture_server(fx, NULL);

	chat_fixture_accounts(srv, "m", a, TEN);
	for (int i = 0; i < TEN; i++)
		c[i] = chat_fixture_connect(srv, a[i].user, a[i].token);
	test_account_names(a + 1, TEN - 1, others);
	chat_fixture_group(c[0], "ten", others, TEN - 1, false, convo);

	everyone_sends(c, convo);

	for (int i = 0; i < TEN; i++)
		assert_true(
		    test_client_wait_seqs(c[i], convo, 1, head, 4 * WAIT));
	assert_int_equal(test_client_quiet(c[0], 300), 0);
	assert_db_gap_free(srv, convo, head);
	for (int i = 0; i < TEN; i++) {
		collect_log(c[i], convo, logs[i], head);
		for (long s = 1; s <= head; s++)
			assert_same_message(logs[i][s], logs[0][s]);
	}
	/* Every message sent is in the log once, none twice. */
	for (int i = 0; i < TEN; i++) {
		for (int k = 0; k < EACH_SENDS; k++) {
			snprintf(cmid, sizeof(cmid), "m%d-%d", i, k);
			assert_int_equal(
			    test_db_count_cmid(srv, convo, a[i].user, cmid), 1);
		}
	}
}

/* ---- joining late ---- */

CHAT_TEST(a_member_added_later_sees_the_log_from_the_message_adding_them)
{
	static const char *const users[] = {"alice", "bob", "carol", NULL};
	static const char *const carol_only[] = {"carol"};
	char tokens[3][TEST_TOKEN_MAX], convo[TEST_ID_MAX], cmid[16];
	struct test_client *c[3];
	cJSON *synced, *page;
	const cJSON *entry;
	const cJSON *msg;

	server_with(fx, users, tokens, c);
	chat_fixture_group(c[0], "early birds", &users[1], 1, false, convo);
	for (int i = 1; i <= 20; i++) {
		snprintf(cmid, sizeof(cmid), "early-%d", i);
		assert_int_equal(
		    test_client_send(c[0], convo, cmid, "before carol", NULL),
		    0);
	}
	assert_true(test_client_wait_seqs(c[1], convo, 1, 21, WAIT));

	assert_int_equal(test_group_add(c[0], convo, carol_only, 1), 22);
	assert_int_equal(
	    test_client_send(c[0], convo, "late-1", "carol is here", NULL), 0);
	assert_int_equal(
	    test_client_send(c[1], convo, "late-2", "hi carol", NULL), 0);

	/* Live: the "added" message and what followed, nothing earlier. */
	msg = system_message(c[2], convo, 22, "added", "alice", NULL);
	assert_true(event_lists(msg, "users", carol_only, 1));
	assert_true(test_client_wait_seqs(c[2], convo, 22, 24, WAIT));
	assert_true(test_client_wait_seqs(c[1], convo, 22, 24, WAIT));
	test_client_quiet(c[2], 300);
	assert_int_equal(lowest_seq(c[2], convo), 22);
	assert_string_equal(
	    test_json_string(test_client_wait_message(c[1], convo, 22, WAIT),
	                     "id"),
	    test_json_string(msg, "id"));

	/* Sync from 0 and history: the same, from seq 22 on. */
	synced = test_client_sync_all(c[2], convo, 0, 100, NULL);
	assert_non_null(synced);
	assert_int_equal(cJSON_GetArraySize(synced), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    test_json_number(cJSON_GetArrayItem(synced, i), "seq"),
		    22 + i);
	cJSON_Delete(synced);
	page = test_client_request(
	    c[2], WAIT, "{\"op\":\"history\",\"convo\":\"%s\"}", convo);
	chat_assert_ok(page);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(page, "messages")), 3);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(page, "more")));
	page = test_client_request(
	    c[2], WAIT, "{\"op\":\"history\",\"convo\":\"%s\",\"before\":22}",
	    convo);
	chat_assert_ok(page);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(page, "messages")), 0);

	entry = chat_fixture_conversation(c[2], convo);
	assert_int_equal(test_json_number(entry, "joined"), 21);
	assert_int_equal(test_json_number(entry, "head"), 24);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(entry, "member")));
	assert_int_equal(test_json_number(entry, "member_count"), 3);
}

/* ---- being removed ---- */

/* Carol's laptop keeps a durable session and goes offline. */
static struct test_client *connect_laptop(struct chat_server *srv,
                                          const char *token)
{
	struct test_client_options o = {0};
	struct test_client *laptop = NULL;

	o.user = "carol";
	o.password = token;
	o.client_id = "carol-laptop";
	o.durable = true;
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(srv, &o, &laptop), 0);
	return laptop;
}

/* The removed message is the last thing the client has of convo. */
static void assert_removed_last(struct test_client *c, const char *convo,
                                long removed_seq)
{
	static const char *const carol_only[] = {"carol"};
	const cJSON *msg =
	    system_message(c, convo, removed_seq, "removed", "alice", NULL);

	assert_true(event_lists(msg, "users", carol_only, 1));
	test_client_quiet(c, QUIET_MS);
	assert_int_equal(highest_seq(c, convo), removed_seq);
}

static void assert_sync_ends_at(struct test_client *c, const char *convo,
                                long removed_seq)
{
	cJSON *synced = test_client_sync_all(c, convo, 0, 100, NULL);
	cJSON *page;

	assert_non_null(synced);
	assert_int_equal(cJSON_GetArraySize(synced), removed_seq);
	assert_int_equal(
	    test_json_number(cJSON_GetArrayItem(synced, (int)removed_seq - 1),
	                     "seq"),
	    removed_seq);
	cJSON_Delete(synced);
	page = test_client_request(
	    c, WAIT, "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":%ld}", convo,
	    removed_seq);
	chat_assert_ok(page);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(page, "messages")), 0);
	assert_int_equal(test_json_number(page, "head"), removed_seq);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(page, "more")));
}

/* A former member learns nothing of the group after it left: the members
 * request is refused, or answers the roster as it was then. */
static void assert_roster_ends_at(struct test_client *admin,
                                  struct test_client *former, const char *convo,
                                  long left_seq)
{
	static const char *const newcomer[] = {"probe"};
	const cJSON *member;
	cJSON *resp;

	assert_true(test_group_add(admin, convo, newcomer, 1) > left_seq);
	resp = test_client_request(
	    former, WAIT, "{\"op\":\"members\",\"convo\":\"%s\"}", convo);
	assert_non_null(resp);
	if (!cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok"))) {
		assert_string_equal(test_response_code(resp), "not_member");
		return;
	}
	cJSON_ArrayForEach(member, cJSON_GetObjectItem(resp, "members"))
	{
		assert_string_not_equal(test_json_string(member, "user"),
		                        "probe");
		assert_true(test_json_number(member, "joined") < left_seq);
		assert_true(test_json_number(member, "delivered") <= left_seq);
	}
}

CHAT_TEST(a_removed_member_gets_the_removed_message_last_and_nothing_after)
{
	static const char *const users[] = {"alice", "bob", "carol", NULL};
	static const char *const carol_only[] = {"carol"};
	char tokens[3][TEST_TOKEN_MAX], convo[TEST_ID_MAX];
	struct test_client *c[3], *laptop;
	struct chat_server *srv;
	long removed;
	const cJSON *entry;
	cJSON *error, *page;

	srv = server_with(fx, users, tokens, c);
	laptop = connect_laptop(srv, tokens[2]);
	chat_fixture_group(c[0], "soon smaller", &users[1], 2, false, convo);
	assert_non_null(test_client_wait_message(laptop, convo, 1, WAIT));
	test_client_close(laptop); /* the session stays: it is durable */
	assert_int_equal(
	    test_client_send(c[0], convo, "before", "carol still here", NULL),
	    0);
	assert_non_null(test_client_wait_message(c[2], convo, 2, WAIT));

	removed = test_group_remove(c[0], convo, carol_only, 1);
	assert_int_equal(removed, 3);
	assert_int_equal(
	    test_client_send(c[0], convo, "after-1", "carol is gone", NULL), 0);
	assert_int_equal(
	    test_client_send(c[1], convo, "after-2", "indeed", NULL), 0);
	assert_true(test_client_wait_seqs(c[1], convo, 1, 5, WAIT));

	assert_removed_last(c[2], convo, removed);
	/* What the broker kept for the offline session ends there too. */
	laptop = connect_laptop(srv, tokens[2]);
	assert_true(test_client_session_present(laptop));
	assert_removed_last(laptop, convo, removed);

	assert_sync_ends_at(c[2], convo, removed);
	page = test_client_request(
	    c[2], WAIT, "{\"op\":\"history\",\"convo\":\"%s\"}", convo);
	chat_assert_ok(page);
	assert_int_equal(
	    test_json_number(
	        cJSON_GetArrayItem(cJSON_GetObjectItem(page, "messages"),
	                           (int)removed - 1),
	        "seq"),
	    removed);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(page, "messages")), removed);
	entry = chat_fixture_conversation(c[2], convo);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(entry, "member")));
	assert_int_equal(test_json_number(entry, "head"), removed);

	/* And she cannot write to it any more. */
	assert_int_equal(
	    test_client_send(c[2], convo, "let-me-in", "hello?", NULL), 0);
	error = test_client_wait_error(c[2], "let-me-in", WAIT);
	assert_non_null(error);
	assert_string_equal(test_json_string(error, "code"), "not_member");
	assert_int_equal(test_db_count_cmid(srv, convo, "carol", "let-me-in"),
	                 0);
	test_client_quiet(c[1], 300);
	assert_int_equal(highest_seq(c[1], convo), 5);
	assert_db_gap_free(srv, convo, 5);
	assert_roster_ends_at(c[0], c[2], convo, removed);
}

/* ---- who may change a group ---- */

CHAT_TEST(only_admins_add_remove_rename_or_promote)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
	                                    NULL};
	static const char *const dave_only[] = {"dave"};
	char tokens[4][TEST_TOKEN_MAX], convo[TEST_ID_MAX], id[TEST_CMID_MAX];
	struct test_client *c[4];
	struct chat_server *srv;
	struct test_db_member row;
	char json[256];

	srv = server_with(fx, users, tokens, c);
	chat_fixture_group(c[0], "admins only", &users[1], 2, false, convo);

	snprintf(json, sizeof(json),
	         "{\"op\":\"add_members\",\"convo\":\"%s\",\"users\":"
	         "[\"dave\"]}",
	         convo);
	chat_assert_refused(request(c[1], json, id), "not_admin");
	snprintf(json, sizeof(json),
	         "{\"op\":\"remove_members\",\"convo\":\"%s\",\"users\":"
	         "[\"carol\"]}",
	         convo);
	chat_assert_refused(request(c[1], json, id), "not_admin");
	snprintf(json, sizeof(json),
	         "{\"op\":\"rename\",\"convo\":\"%s\",\"title\":\"mine\"}",
	         convo);
	chat_assert_refused(request(c[1], json, id), "not_admin");
	snprintf(json, sizeof(json),
	         "{\"op\":\"set_role\",\"convo\":\"%s\",\"user\":\"bob\","
	         "\"role\":\"admin\"}",
	         convo);
	chat_assert_refused(request(c[1], json, id), "not_admin");
	/* An outsider is not even a member. */
	snprintf(json, sizeof(json),
	         "{\"op\":\"add_members\",\"convo\":\"%s\",\"users\":"
	         "[\"dave\"]}",
	         convo);
	chat_assert_refused(request(c[3], json, id), "not_member");

	test_client_quiet(c[2], 300);
	assert_int_equal(highest_seq(c[2], convo), 1);
	assert_int_equal(test_db_count_messages(srv, convo), 1);
	assert_int_equal(test_db_member(srv, convo, "dave", &row), -1);
	assert_int_equal(test_db_member(srv, convo, "carol", &row), 0);
	assert_int_equal(row.left, -1);
	assert_int_equal(test_db_member(srv, convo, "bob", &row), 0);
	assert_string_equal(row.role, "member");

	/* Once promoted, bob may. */
	snprintf(json, sizeof(json),
	         "{\"op\":\"set_role\",\"convo\":\"%s\",\"user\":\"bob\","
	         "\"role\":\"admin\"}",
	         convo);
	chat_assert_ok(request(c[0], json, id));
	assert_int_equal(test_group_add(c[1], convo, dave_only, 1), 3);
	assert_non_null(test_client_wait_message(c[3], convo, 3, WAIT));
}

/* ---- system messages ---- */

/* Runs a change as c and returns the seq it answered with. */
static long change(struct test_client *c, const char *json, char *id)
{
	cJSON *resp = request(c, json, id);

	chat_assert_ok(resp);
	assert_true(test_json_number(resp, "seq") > 0);
	return (long)test_json_number(resp, "seq");
}

/* The system message at seq is the same message for each client. */
static void assert_everyone_sees(struct test_client *const c[], int count,
                                 const char *convo, long seq, const char *type,
                                 const char *from, const char *request_id)
{
	const cJSON *first =
	    system_message(c[0], convo, seq, type, from, request_id);

	for (int i = 1; i < count; i++)
		assert_same_message(
		    system_message(c[i], convo, seq, type, from, request_id),
		    first);
}

CHAT_TEST(every_change_is_a_system_message_at_the_same_seq_for_everyone)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
	                                    NULL};
	static const char *const dave_only[] = {"dave"};
	char tokens[4][TEST_TOKEN_MAX], convo[TEST_ID_MAX], id[TEST_CMID_MAX];
	char json[256], create_id[TEST_CMID_MAX];
	struct test_client *c[4];
	struct test_db_message row;
	const cJSON *created, *entry;
	cJSON *resp;
	long seq;

	server_with(fx, users, tokens, c);
	resp = request(c[0],
	               "{\"op\":\"create_group\",\"title\":\"hikers\","
	               "\"members\":[\"bob\",\"carol\"]}",
	               create_id);
	chat_assert_ok(resp);
	assert_int_equal(test_json_number(resp, "seq"), 1);
	assert_string_equal(test_json_string(resp, "kind"), "group");
	snprintf(convo, sizeof(convo), "%s", test_json_string(resp, "convo"));
	assert_everyone_sees(c, 3, convo, 1, "created", "alice", create_id);
	created = test_client_wait_message(c[1], convo, 1, WAIT);
	assert_true(event_has(created, "title", "hikers"));
	assert_true(event_has(created, "kind", "group"));

	snprintf(json, sizeof(json),
	         "{\"op\":\"rename\",\"convo\":\"%s\",\"title\":\"climbers\"}",
	         convo);
	seq = change(c[0], json, id);
	assert_int_equal(seq, 2);
	assert_everyone_sees(c, 3, convo, 2, "renamed", "alice", id);
	assert_true(event_has(test_client_wait_message(c[2], convo, 2, WAIT),
	                      "title", "climbers"));

	snprintf(json, sizeof(json),
	         "{\"op\":\"set_role\",\"convo\":\"%s\",\"user\":\"bob\","
	         "\"role\":\"admin\"}",
	         convo);
	assert_int_equal(change(c[0], json, id), 3);
	assert_everyone_sees(c, 3, convo, 3, "role", "alice", id);
	assert_true(event_has(test_client_wait_message(c[2], convo, 3, WAIT),
	                      "user", "bob"));
	assert_true(event_has(test_client_wait_message(c[2], convo, 3, WAIT),
	                      "role", "admin"));

	snprintf(json, sizeof(json),
	         "{\"op\":\"add_members\",\"convo\":\"%s\",\"users\":"
	         "[\"dave\"]}",
	         convo);
	assert_int_equal(change(c[1], json, id), 4);
	assert_everyone_sees(c, 4, convo, 4, "added", "bob", id);
	assert_true(event_lists(test_client_wait_message(c[3], convo, 4, WAIT),
	                        "users", dave_only, 1));

	snprintf(json, sizeof(json),
	         "{\"op\":\"remove_members\",\"convo\":\"%s\",\"users\":"
	         "[\"dave\"]}",
	         convo);
	assert_int_equal(change(c[0], json, id), 5);
	assert_everyone_sees(c, 4, convo, 5, "removed", "alice", id);

	snprintf(json, sizeof(json), "{\"op\":\"leave\",\"convo\":\"%s\"}",
	         convo);
	assert_int_equal(change(c[2], json, id), 6);
	assert_everyone_sees(c, 3, convo, 6, "left", "carol", id);

	/* What bob's conversations say about the group now. */
	entry = chat_fixture_conversation(c[1], convo);
	assert_string_equal(test_json_string(entry, "kind"), "group");
	assert_string_equal(test_json_string(entry, "title"), "climbers");
	assert_string_equal(test_json_string(entry, "role"), "admin");
	assert_int_equal(test_json_number(entry, "member_count"), 2);
	assert_int_equal(test_json_number(entry, "head"), 6);
	assert_int_equal(test_json_number(entry, "joined"), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(entry, "member")));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(entry, "broadcast")));
	assert_null(cJSON_GetObjectItem(entry, "members"));

	/* The log holds them as system messages too. */
	assert_int_equal(test_db_message(c[0]->server, convo, 6, &row), 0);
	assert_string_equal(row.type, "left");
	assert_string_equal(row.sender, "carol");
	free(row.body);
	test_client_quiet(c[3], 300);
	assert_int_equal(highest_seq(c[3], convo), 5);
}

/* ---- retries ---- */

/* Waits for the second answer to request id `id`. */
static cJSON *second_answer(struct test_client *c, const char *id)
{
	struct test_match m = {.kind = "resp", .id = id};
	long long deadline = test_now_ms() + WAIT;

	while (test_client_count(c, &m, 0) < 2 && test_now_ms() < deadline)
		test_sleep_ms(20);
	assert_int_equal(test_client_count(c, &m, 0), 2);
	for (size_t i = test_client_mark(c); i > 0; i--) {
		const struct test_inbox_entry *e = test_client_entry(c, i - 1);

		if (test_entry_matches(c, e, &m))
			return e->json;
	}
	return NULL;
}

CHAT_TEST(a_change_retried_with_the_same_request_id_is_made_once)
{
	static const char *const users[] = {"alice", "bob", "carol", NULL};
	struct test_match added = {.kind = "msg", .type = "added"};
	char tokens[3][TEST_TOKEN_MAX], convo[TEST_ID_MAX], json[256];
	const char *params[] = {"alice", NULL};
	struct test_client *c[3];
	struct chat_server *srv;
	cJSON *first, *again;

	srv = server_with(fx, users, tokens, c);
	/* A create whose answer was "lost": the retry finds the group. */
	assert_int_equal(test_client_request_send_as(
	                     c[0],
	                     "{\"op\":\"create_group\",\"title\":\"once\","
	                     "\"members\":[\"bob\"]}",
	                     "create-1"),
	                 0);
	first = test_client_wait_response(c[0], "create-1", WAIT);
	chat_assert_ok(first);
	assert_int_equal(test_client_request_send_as(
	                     c[0],
	                     "{\"op\":\"create_group\",\"title\":\"once\","
	                     "\"members\":[\"bob\"]}",
	                     "create-1"),
	                 0);
	again = second_answer(c[0], "create-1");
	chat_assert_ok(again);
	assert_string_equal(test_json_string(again, "convo"),
	                    test_json_string(first, "convo"));
	assert_int_equal(test_json_number(again, "seq"), 1);
	snprintf(convo, sizeof(convo), "%s", test_json_string(first, "convo"));
	assert_int_equal(test_db_integer(srv,
	                                 "SELECT count(*) FROM members WHERE "
	                                 "user_id = ?",
	                                 params),
	                 1);

	/* The same add twice in a row, as a client resending at once. */
	snprintf(json, sizeof(json),
	         "{\"op\":\"add_members\",\"convo\":\"%s\",\"users\":"
	         "[\"carol\"]}",
	         convo);
	assert_int_equal(test_client_request_send_as(c[0], json, "add-1"), 0);
	assert_int_equal(test_client_request_send_as(c[0], json, "add-1"), 0);
	again = second_answer(c[0], "add-1");
	first = test_client_wait_response(c[0], "add-1", WAIT);
	chat_assert_ok(first);
	chat_assert_ok(again);
	assert_int_equal(test_json_number(first, "seq"), 2);
	assert_int_equal(test_json_number(again, "seq"), 2);

	test_client_quiet(c[1], QUIET_MS);
	assert_int_equal(test_client_count(c[1], &added, 0), 1);
	assert_int_equal(test_db_count_messages(srv, convo), 2);
	assert_db_gap_free(srv, convo, 2);
}

/* ---- admins ---- */

CHAT_TEST(the_last_admin_cannot_step_down_and_leaving_promotes_the_oldest)
{
	static const char *const users[] = {"alice", "bob", "carol", NULL};
	static const char *const carol_only[] = {"carol"};
	char tokens[3][TEST_TOKEN_MAX], convo[TEST_ID_MAX], id[TEST_CMID_MAX];
	char json[256];
	struct test_client *c[3];
	struct chat_server *srv;
	struct test_db_member row;
	const cJSON *left;

	srv = server_with(fx, users, tokens, c);
	chat_fixture_group(c[0], "one admin", &users[1], 1, false, convo);
	assert_int_equal(test_group_add(c[0], convo, carol_only, 1), 2);

	snprintf(json, sizeof(json),
	         "{\"op\":\"set_role\",\"convo\":\"%s\",\"user\":\"alice\","
	         "\"role\":\"member\"}",
	         convo);
	chat_assert_refused(request(c[0], json, id), "last_admin");
	assert_int_equal(test_db_member(srv, convo, "alice", &row), 0);
	assert_string_equal(row.role, "admin");
	assert_int_equal(test_db_count_messages(srv, convo), 2);

	/* Bob joined first (with the group), carol later. */
	snprintf(json, sizeof(json), "{\"op\":\"leave\",\"convo\":\"%s\"}",
	         convo);
	assert_int_equal(change(c[0], json, id), 3);
	left = system_message(c[1], convo, 3, "left", "alice", id);
	assert_true(event_has(left, "promoted", "bob"));
	assert_int_equal(test_db_member(srv, convo, "bob", &row), 0);
	assert_string_equal(row.role, "admin");

	snprintf(json, sizeof(json),
	         "{\"op\":\"set_role\",\"convo\":\"%s\",\"user\":\"bob\","
	         "\"role\":\"member\"}",
	         convo);
	chat_assert_refused(request(c[1], json, id), "last_admin");
}

/* ---- what a request may ask ---- */

/* A title of n copies of "é": n characters, 2n bytes. */
static void accented_title(int n, char *out, size_t outlen)
{
	size_t used = 0;

	for (int i = 0; i < n && used + 3 <= outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "\xc3\xa9");
	out[used] = '\0';
}

CHAT_TEST(titles_are_1_to_100_characters_and_adding_twice_adds_nobody)
{
	static const char *const users[] = {"alice", "bob", NULL};
	static const char *const bob_only[] = {"bob"};
	char tokens[2][TEST_TOKEN_MAX], convo[TEST_ID_MAX], title[512];
	char json[1024];
	struct test_client *c[2];
	struct chat_server *srv;
	cJSON *resp;

	srv = server_with(fx, users, tokens, c);
	accented_title(100, title, sizeof(title));
	snprintf(json, sizeof(json),
	         "{\"op\":\"create_group\",\"title\":\"%s\",\"members\":"
	         "[\"bob\"]}",
	         title);
	resp = test_client_request(c[0], WAIT, "%s", json);
	chat_assert_ok(resp);
	snprintf(convo, sizeof(convo), "%s", test_json_string(resp, "convo"));
	accented_title(101, title, sizeof(title));
	snprintf(json, sizeof(json),
	         "{\"op\":\"create_group\",\"title\":\"%s\",\"members\":[]}",
	         title);
	chat_assert_refused(test_client_request(c[0], WAIT, "%s", json),
	                    "bad_request");
	chat_assert_refused(
	    test_client_request(c[0], WAIT,
	                        "{\"op\":\"create_group\",\"title\":"
	                        "\"\",\"members\":[]}"),
	    "bad_request");

	/* bob is a member already: nobody is added, no system message. */
	resp = test_client_request(
	    c[0], WAIT,
	    "{\"op\":\"add_members\",\"convo\":\"%s\",\"users\":[\"bob\"]}",
	    convo);
	chat_assert_ok(resp);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(resp, "added")),
	                 0);
	assert_null(cJSON_GetObjectItem(resp, "seq"));
	/* An unknown user is named in the refusal; nobody is added. */
	resp = test_client_request(c[0], WAIT,
	                           "{\"op\":\"add_members\",\"convo\":\"%s\","
	                           "\"users\":[\"zed\",\"bob\"]}",
	                           convo);
	chat_assert_refused(resp, "no_such_user");
	assert_non_null(strstr(
	    test_json_string(cJSON_GetObjectItem(resp, "error"), "message"),
	    "zed"));
	assert_int_equal(test_group_add(c[0], convo, bob_only, 1), 0);
	assert_int_equal(test_db_count_messages(srv, convo), 1);
	test_client_quiet(c[1], 300);
	assert_int_equal(highest_seq(c[1], convo), 1);
}

CHAT_TEST(a_direct_conversation_is_one_per_pair_without_system_messages)
{
	static const char *const users[] = {"alice", "bob", NULL};
	char tokens[2][TEST_TOKEN_MAX], convo[TEST_ID_MAX];
	struct test_client *c[2];
	struct chat_server *srv;
	const cJSON *entry;
	cJSON *resp;

	srv = server_with(fx, users, tokens, c);
	resp = test_client_request(c[0], WAIT,
	                           "{\"op\":\"direct\",\"user\":\"bob\"}");
	chat_assert_ok(resp);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "created")));
	snprintf(convo, sizeof(convo), "%s", test_json_string(resp, "convo"));
	resp = test_client_request(c[1], WAIT,
	                           "{\"op\":\"direct\",\"user\":\"alice\"}");
	chat_assert_ok(resp);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(resp, "created")));
	assert_string_equal(test_json_string(resp, "convo"), convo);

	entry = chat_fixture_conversation(c[1], convo);
	assert_string_equal(test_json_string(entry, "kind"), "direct");
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(entry, "members")), 2);
	assert_int_equal(test_json_number(entry, "head"), 0);
	assert_int_equal(test_db_count_messages(srv, convo), 0);
	assert_int_equal(test_client_send(c[0], convo, "d-1", "just us", NULL),
	                 0);
	assert_int_equal(
	    test_json_number(test_client_wait_message(c[1], convo, 1, WAIT),
	                     "seq"),
	    1);
}

/* ---- changes in the middle of traffic ---- */

#define STREAM 150

/* bob and carol each stream STREAM messages; alice removes carol and adds
 * dave halfway through. Returns the seqs of the two changes. */
static void change_while_streaming(struct test_client *c[], const char *convo,
                                   long *removed, long *added)
{
	char cmid[16], json[256], remove_id[TEST_CMID_MAX],
	    add_id[TEST_CMID_MAX];
	cJSON *resp;

	for (int i = 0; i < STREAM; i++) {
		snprintf(cmid, sizeof(cmid), "c%d", i);
		assert_int_equal(test_client_send(c[2], convo, cmid, "x", NULL),
		                 0);
		snprintf(cmid, sizeof(cmid), "b%d", i);
		assert_int_equal(test_client_send(c[1], convo, cmid, "y", NULL),
		                 0);
		if (i != STREAM / 2)
			continue;
		snprintf(json, sizeof(json),
		         "{\"op\":\"remove_members\",\"convo\":\"%s\","
		         "\"users\":[\"carol\"]}",
		         convo);
		assert_int_equal(
		    test_client_request_send(c[0], json, remove_id), 0);
		snprintf(json, sizeof(json),
		         "{\"op\":\"add_members\",\"convo\":\"%s\","
		         "\"users\":[\"dave\"]}",
		         convo);
		assert_int_equal(test_client_request_send(c[0], json, add_id),
		                 0);
	}
	resp = test_client_wait_response(c[0], remove_id, WAIT);
	chat_assert_ok(resp);
	*removed = (long)test_json_number(resp, "seq");
	resp = test_client_wait_response(c[0], add_id, WAIT);
	chat_assert_ok(resp);
	*added = (long)test_json_number(resp, "seq");
}

/* Each of carol's messages was either stored before her removal and
 * ticked, or refused as not_member; none is lost, none is after it. */
static void assert_cut_cleanly(struct chat_server *srv,
                               struct test_client *carol, const char *convo,
                               long removed)
{
	struct test_match refused = {.kind = "event", .code = "not_member"};
	struct test_match tick = {.kind = "msg", .from = "carol"};
	const char *params[] = {convo, NULL};
	char cmid[16];

	for (int i = 0; i < STREAM; i++) {
		long long deadline = test_now_ms() + WAIT;
		cJSON *msg;

		snprintf(cmid, sizeof(cmid), "c%d", i);
		tick.cmid = refused.cmid = cmid;
		while (test_client_count(carol, &tick, 0) +
		               test_client_count(carol, &refused, 0) ==
		           0 &&
		       test_now_ms() < deadline)
			test_sleep_ms(10);
		msg = test_client_wait(carol, &tick, 0, 0);
		if (msg != NULL) {
			assert_true(test_json_number(msg, "seq") < removed);
			assert_int_equal(
			    test_db_count_cmid(srv, convo, "carol", cmid), 1);
		} else {
			assert_non_null(
			    test_client_wait(carol, &refused, 0, 0));
			assert_int_equal(
			    test_db_count_cmid(srv, convo, "carol", cmid), 0);
		}
	}
	assert_true(test_db_integer(srv,
	                            "SELECT max(seq) FROM messages WHERE "
	                            "convo_id = ? AND sender = 'carol'",
	                            params) < removed);
}

CHAT_TEST(membership_changes_in_the_middle_of_traffic_cut_cleanly)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
	                                    NULL};
	char tokens[4][TEST_TOKEN_MAX], convo[TEST_ID_MAX], last[16];
	const char *params[] = {NULL, NULL};
	struct test_client *c[4];
	struct chat_server *srv;
	long removed, added, head;

	srv = server_with(fx, users, tokens, c);
	chat_fixture_group(c[0], "busy", &users[1], 2, false, convo);
	change_while_streaming(c, convo, &removed, &added);
	snprintf(last, sizeof(last), "b%d", STREAM - 1);
	assert_non_null(test_client_wait_tick(c[1], convo, last, 4 * WAIT));

	params[0] = convo;
	assert_cut_cleanly(srv, c[2], convo, removed);
	head = (long)test_db_integer(
	    srv, "SELECT max(seq) FROM messages WHERE convo_id = ?", params);
	assert_db_gap_free(srv, convo, head);
	assert_true(test_client_wait_seqs(c[1], convo, 1, head, 4 * WAIT));
	/* dave has everything from the message adding him on, carol nothing
	 * after the one removing her. */
	assert_true(test_client_wait_seqs(c[3], convo, added, head, 4 * WAIT));
	test_client_quiet(c[3], 300);
	assert_int_equal(lowest_seq(c[3], convo), added);
	assert_int_equal(highest_seq(c[2], convo), removed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        ten_members_sending_at_once_all_get_one_log_in_one_order),
	    CHAT_TEST_ENTRY(
	        a_member_added_later_sees_the_log_from_the_message_adding_them),
	    CHAT_TEST_ENTRY(
	        a_removed_member_gets_the_removed_message_last_and_nothing_after),
	    CHAT_TEST_ENTRY(only_admins_add_remove_rename_or_promote),
	    CHAT_TEST_ENTRY(
	        every_change_is_a_system_message_at_the_same_seq_for_everyone),
	    CHAT_TEST_ENTRY(
	        a_change_retried_with_the_same_request_id_is_made_once),
	    CHAT_TEST_ENTRY(
	        the_last_admin_cannot_step_down_and_leaving_promotes_the_oldest),
	    CHAT_TEST_ENTRY(
	        titles_are_1_to_100_characters_and_adding_twice_adds_nobody),
	    CHAT_TEST_ENTRY(
	        a_direct_conversation_is_one_per_pair_without_system_messages),
	    CHAT_TEST_ENTRY(
	        membership_changes_in_the_middle_of_traffic_cut_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
