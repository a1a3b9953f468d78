/*
 * End-to-end encryption with the reference client (client/, docs/E2E.md)
 * against the real server: members' devices read every message, nobody
 * else does, the server stores no plaintext, tampering and forgeries are
 * caught, files survive an interrupted upload, and a client killed while
 * sending delivers its message exactly once after a restart.
 *
 * Devices are libchatclient clients in this process, or the `chat`
 * program of CHAT_BUILD_DIR; their state files live in a folder of their
 * own, outside the server's, which is searched byte by byte.
 */
#include "../harness/fixture.h"

#include "client/chat.h"
#include "client/crypto.h"
#include "client/filecrypt.h"
#include "db.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT         test_timeout_ms(10000)
#define CLI_WAIT     test_timeout_ms(60000)
#define MARKER       "PLAINTEXT-MARKER-7f3a9c"
#define BIG_FILE     (20 * 1024 * 1024)
#define MAX_DEVICES  8
#define MAX_MESSAGES 64

/* ---- devices ---- */

struct seen_message {
	char convo[TEST_ID_MAX];
	long long seq;
	char from[TEST_ID_MAX];
	enum chat_message_kind kind;
	char text[256];
	char error[160];
	char blob[80];
};

struct device {
	struct chat_client *c;
	char user[TEST_ID_MAX];
	char token[TEST_TOKEN_MAX];
	char state[PATH_MAX];
	struct seen_message seen[MAX_MESSAGES];
	size_t count;
};

/* A test: its server, the folder of the devices' state, its devices. */
struct e2e {
	struct chat_server *srv;
	char dir[PATH_MAX / 2];
	struct device devices[MAX_DEVICES];
	size_t device_count;
};

static void note_message(void *ctx, const struct chat_message *m)
{
	struct device *d = ctx;
	struct seen_message *s;

	if (d->count == MAX_MESSAGES)
		return;
	s = &d->seen[d->count++];
	memset(s, 0, sizeof(*s));
	snprintf(s->convo, sizeof(s->convo), "%s", m->convo);
	snprintf(s->from, sizeof(s->from), "%s", m->from);
	s->seq = m->seq;
	s->kind = m->kind;
	if (m->kind == CHAT_MESSAGE_TEXT)
		snprintf(s->text, sizeof(s->text), "%s", m->text);
	if (m->kind == CHAT_MESSAGE_FILE)
		snprintf(s->blob, sizeof(s->blob), "%s", m->file.blob);
	if (m->kind == CHAT_MESSAGE_UNREADABLE)
		snprintf(s->error, sizeof(s->error), "%s", m->error);
}

static void start(struct chat_fixture *fx, struct e2e *t)
{
	memset(t, 0, sizeof(*t));
	t->srv = chat_fixture_server(fx, NULL);
	assert_int_equal(
	    test_make_temp_dir("e2e-devices", t->dir, sizeof(t->dir)), 0);
}

static void finish(struct e2e *t)
{
	for (size_t i = 0; i < t->device_count; i++)
		chat_client_close(t->devices[i].c);
	test_remove_tree(t->dir);
}

static struct device *new_device(struct e2e *t, const char *user,
                                 const char *token)
{
	struct device *d = &t->devices[t->device_count];

	assert_true(t->device_count < MAX_DEVICES);
	snprintf(d->user, sizeof(d->user), "%s", user);
	snprintf(d->token, sizeof(d->token), "%s", token);
	snprintf(d->state, sizeof(d->state), "%s/%s-%zu.db", t->dir, user,
	         t->device_count);
	t->device_count++;
	return d;
}

/* Sets a device up (init through the library) and connects it. */
static struct device *add_device(struct e2e *t, const char *user,
                                 const char *token, const char *identity)
{
	struct device *d = new_device(t, user, token);
	struct chat_init_options o = {
	    d->state, "127.0.0.1", t->srv->port, user, token, identity, 0};
	char err[1024];

	if (chat_client_init(&o, err, sizeof(err)) != CHAT_OK)
		fail_msg("init of %s failed: %s", user, err);
	assert_int_equal(chat_client_open(d->state, &d->c, err, sizeof(err)),
	                 CHAT_OK);
	chat_client_on_message(d->c, note_message, d);
	if (chat_client_connect(d->c, false) != CHAT_OK)
		fail_msg("%s: %s", user, chat_client_error(d->c));
	return d;
}

/* A new user with one device. */
static struct device *add_user(struct e2e *t, const char *user)
{
	char token[TEST_TOKEN_MAX];

	chat_fixture_user(t->srv, user, token);
	return add_device(t, user, token, NULL);
}

/* Another device of d's user, with d's identity key. */
static struct device *add_second_device(struct e2e *t, struct device *d)
{
	char token[TEST_TOKEN_MAX], path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.identity", t->dir, d->user);
	assert_int_equal(chat_client_export_identity(d->c, path), CHAT_OK);
	assert_int_equal(chat_server_add_device(t->srv, d->user, token, NULL),
	                 0);
	return add_device(t, d->user, token, path);
}

static void send_text(struct device *d, const char *convo, const char *text)
{
	char cmid[CHAT_CMID_SIZE];

	if (chat_client_send_text(d->c, convo, text, cmid) != CHAT_OK)
		fail_msg("%s cannot send: %s", d->user,
		         chat_client_error(d->c));
	if (chat_client_wait_sent(d->c, convo, cmid, WAIT) != CHAT_OK)
		fail_msg("%s: no tick: %s", d->user, chat_client_error(d->c));
}

static void sync_device(struct device *d)
{
	if (chat_client_sync(d->c) != CHAT_OK)
		fail_msg("%s cannot sync: %s", d->user,
		         chat_client_error(d->c));
}

static const struct seen_message *seen_text(const struct device *d,
                                            const char *convo, const char *text)
{
	for (size_t i = 0; i < d->count; i++)
		if (strcmp(d->seen[i].convo, convo) == 0 &&
		    d->seen[i].kind == CHAT_MESSAGE_TEXT &&
		    strcmp(d->seen[i].text, text) == 0)
			return &d->seen[i];
	return NULL;
}

static size_t count_text(const struct device *d, const char *text)
{
	size_t n = 0;

	for (size_t i = 0; i < d->count; i++)
		if (d->seen[i].kind == CHAT_MESSAGE_TEXT &&
		    strcmp(d->seen[i].text, text) == 0)
			n++;
	return n;
}

static const struct seen_message *seen_seq(const struct device *d,
                                           const char *convo, long long seq)
{
	for (size_t i = 0; i < d->count; i++)
		if (strcmp(d->seen[i].convo, convo) == 0 &&
		    d->seen[i].seq == seq)
			return &d->seen[i];
	return NULL;
}

/* A harness client of the user (raw MQTT) for requests and forgeries. */
static struct test_client *raw_client(struct e2e *t, const struct device *d)
{
	return chat_fixture_connect(t->srv, d->user, d->token);
}

/* Creates a group through a harness client of the owner, which is
 * returned for further admin requests (request ids are per client: a new
 * client would reuse them). */
static struct test_client *make_group(struct e2e *t, struct device *owner,
                                      const char *const members[], size_t count,
                                      char convo[TEST_ID_MAX])
{
	struct test_client *c = raw_client(t, owner);

	chat_fixture_group(c, "e2e", members, count, false, convo);
	return c;
}

/* ---- the chat program ---- */

/* Runs build/chat with -s state and the arguments (NULL-terminated);
 * stdout into out. Returns the exit status. */
static int run_chat(struct e2e *t, const char *state, char *out, size_t outlen,
                    ...)
{
	char chat[PATH_MAX], port[16], err[4096] = "";
	char *argv[16];
	int argc = 0, rc;
	va_list ap;

	snprintf(chat, sizeof(chat), "%s/chat", t->srv->build_dir);
	snprintf(port, sizeof(port), "%d", t->srv->port);
	argv[argc++] = chat;
	argv[argc++] = "-p";
	argv[argc++] = port;
	argv[argc++] = "-s";
	argv[argc++] = (char *)state;
	va_start(ap, outlen);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	rc = test_process_run(argv, CLI_WAIT, out, outlen, err, sizeof(err));
	if (rc != 0)
		test_log("chat %s exited %d: %s", argv[5], rc, err);
	return rc;
}

/* ---- what the server holds ---- */

static const char *marker_file; /* first server file holding the marker */
static char marker_path[PATH_MAX];

static int search_file(const char *path, const struct stat *st, int type,
                       struct FTW *ftw)
{
	size_t len = 0;
	char *data;

	(void)st;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	data = test_read_file(path, &len);
	if (data != NULL && memmem(data, len, MARKER, strlen(MARKER))) {
		snprintf(marker_path, sizeof(marker_path), "%s", path);
		marker_file = marker_path;
	}
	free(data);
	return 0;
}

/* Every byte of every file under the server's folder: the database, its
 * -wal, stored files, logs. */
static void assert_server_holds_no_marker(struct chat_server *srv)
{
	marker_file = NULL;
	assert_int_equal(nftw(srv->dir, search_file, 16, FTW_PHYS), 0);
	if (marker_file != NULL)
		fail_msg("%s holds the plaintext marker", marker_file);
}

static void assert_stored_body_is_an_envelope(struct chat_server *srv,
                                              const char *convo, long seq)
{
	struct test_db_message row;
	cJSON *body;

	assert_int_equal(test_db_message(srv, convo, seq, &row), 0);
	body = cJSON_Parse(row.body);
	assert_non_null(body);
	assert_int_equal(test_json_number(body, "v"), 1);
	assert_non_null(cJSON_GetObjectItem(body, "ct"));
	assert_non_null(cJSON_GetObjectItem(body, "keys"));
	cJSON_Delete(body);
	free(row.body);
}

static void write_marker_file(const char *path, size_t size)
{
	FILE *f = fopen(path, "wb");
	char block[4096];

	assert_non_null(f);
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)('a' + i % 26);
	memcpy(block + 100, MARKER, strlen(MARKER));
	for (size_t done = 0; done < size; done += sizeof(block)) {
		size_t n =
		    size - done < sizeof(block) ? size - done : sizeof(block);

		assert_int_equal(fwrite(block, 1, n, f), n);
	}
	fclose(f);
}

static void assert_same_file(const char *a, const char *b)
{
	unsigned char ha[E2E_FILE_HASH_BYTES], hb[E2E_FILE_HASH_BYTES];
	long long sa, sb;

	assert_int_equal(e2e_file_hash(a, ha, &sa), 0);
	assert_int_equal(e2e_file_hash(b, hb, &sb), 0);
	assert_true(sa == sb);
	assert_memory_equal(ha, hb, sizeof(ha));
}

/* ---- tests ---- */

CHAT_TEST(alice_and_bob_talk_with_chat_and_the_server_keeps_no_plaintext)
{
	char alice_token[TEST_TOKEN_MAX], bob_token[TEST_TOKEN_MAX];
	char convo[TEST_ID_MAX], alice[PATH_MAX], bob[PATH_MAX];
	char file[PATH_MAX], back[PATH_MAX], out[8192];
	struct e2e t;

	start(fx, &t);
	chat_fixture_user(t.srv, "alice", alice_token);
	chat_fixture_user(t.srv, "bob", bob_token);
	chat_fixture_direct(t.srv, "alice", "bob", convo);
	snprintf(alice, sizeof(alice), "%s/alice.db", t.dir);
	snprintf(bob, sizeof(bob), "%s/bob.db", t.dir);
	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "init", "--user",
	                          "alice", "--token", alice_token, NULL),
	                 0);
	assert_int_equal(run_chat(&t, bob, out, sizeof(out), "init", "--user",
	                          "bob", "--token", bob_token, NULL),
	                 0);

	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "send", convo,
	                          "hello bob " MARKER, NULL),
	                 0);
	assert_int_equal(
	    run_chat(&t, bob, out, sizeof(out), "sync", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"text\":\"hello bob " MARKER "\""));
	assert_non_null(strstr(out, "\"from\":\"alice\""));
	assert_int_equal(run_chat(&t, bob, out, sizeof(out), "send", convo,
	                          "hi alice " MARKER, NULL),
	                 0);
	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "sync", NULL),
	                 0);
	assert_non_null(strstr(out, "bob: hi alice " MARKER));
	/* Shown once: a second sync shows nothing new. */
	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "sync", NULL),
	                 0);
	assert_null(strstr(out, "hi alice"));

	snprintf(file, sizeof(file), "%s/notes-" MARKER ".txt", t.dir);
	snprintf(back, sizeof(back), "%s/received.txt", t.dir);
	write_marker_file(file, 300 * 1024);
	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "send-file",
	                          convo, file, NULL),
	                 0);
	assert_int_equal(run_chat(&t, bob, out, sizeof(out), "sync", NULL), 0);
	assert_non_null(strstr(out, "[file notes-" MARKER ".txt"));
	assert_int_equal(run_chat(&t, bob, out, sizeof(out), "get-file", convo,
	                          "3", back, NULL),
	                 0);
	assert_same_file(file, back);

	assert_int_equal(test_db_count_messages(t.srv, convo), 3);
	for (long seq = 1; seq <= 3; seq++)
		assert_stored_body_is_an_envelope(t.srv, convo, seq);
	assert_server_holds_no_marker(t.srv);
	finish(&t);
}

/* The key directory's entry of a user, as a raw client gets it. */
static const cJSON *directory_entry(struct test_client *c, const char *user)
{
	cJSON *resp = test_client_request(
	    c, WAIT, "{\"op\":\"get_keys\",\"users\":[\"%s\"]}", user);

	chat_assert_ok(resp);
	return cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "keys"), 0);
}

CHAT_TEST(init_publishes_a_signed_bundle_device_list_and_prekeys)
{
	struct e2e_device_list list;
	struct e2e_bundle bundle;
	struct device *alice, *bob;
	struct test_client *raw;
	const cJSON *entry, *b;
	const char *why;
	cJSON *resp;
	struct e2e t;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	raw = raw_client(&t, alice);
	entry = directory_entry(raw, "alice");
	assert_non_null(entry);
	assert_int_equal(
	    e2e_device_list_verify(cJSON_GetObjectItem(entry, "devices"), &list,
	                           &why),
	    0);
	assert_true(list.version == 1);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.devices[0], chat_client_device(alice->c));
	e2e_device_list_free(&list);
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(entry, "bundles"), 0);
	assert_int_equal(e2e_bundle_verify(b, &bundle, &why), 0);
	assert_string_equal(bundle.device, chat_client_device(alice->c));

	resp = test_client_request(raw, WAIT, "{\"op\":\"prekey_count\"}");
	chat_assert_ok(resp);
	assert_int_equal(test_json_number(resp, "count"), 20);
	test_client_close(raw);
	raw = raw_client(&t, bob);
	resp = test_client_request(
	    raw, WAIT,
	    "{\"op\":\"claim_prekey\",\"user\":\"alice\",\"device\":\"%s\"}",
	    chat_client_device(alice->c));
	chat_assert_ok(resp);
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(resp, "prekey")));

	/* A second device joins the list, one version up. */
	add_second_device(&t, alice);
	entry = directory_entry(raw, "alice");
	assert_int_equal(
	    e2e_device_list_verify(cJSON_GetObjectItem(entry, "devices"), &list,
	                           &why),
	    0);
	assert_true(list.version == 2);
	assert_int_equal(list.count, 2);
	assert_true(e2e_device_list_has(&list, chat_client_device(alice->c)));
	assert_true(
	    e2e_device_list_has(&list, chat_client_device(t.devices[2].c)));
	e2e_device_list_free(&list);
	test_client_close(raw);
	finish(&t);
}

CHAT_TEST(every_device_of_a_group_of_five_reads_every_message)
{
	static const char *const names[] = {"ann", "ben", "cat", "dan", "eve"};
	const char *members[4];
	struct device *d[6];
	char convo[TEST_ID_MAX], text[64];
	struct e2e t;

	start(fx, &t);
	for (int i = 0; i < 5; i++)
		d[i] = add_user(&t, names[i]);
	d[5] = add_second_device(&t, d[1]); /* ben's second device */
	for (int i = 1; i < 5; i++)
		members[i - 1] = names[i];
	test_client_close(make_group(&t, d[0], members, 4, convo));

	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "from device %d", i);
		send_text(d[i], convo, text);
	}
	for (int i = 0; i < 6; i++) {
		sync_device(d[i]);
		for (int j = 0; j < 6; j++) {
			snprintf(text, sizeof(text), "from device %d", j);
			if (seen_text(d[i], convo, text) == NULL)
				fail_msg("%s (device %d) did not read \"%s\"",
				         d[i]->user, i, text);
		}
		for (size_t k = 0; k < d[i]->count; k++)
			assert_int_not_equal(d[i]->seen[k].kind,
			                     CHAT_MESSAGE_UNREADABLE);
	}
	finish(&t);
}

static void assert_not_for(struct e2e *t, const char *convo, long seq,
                           const struct device *d)
{
	struct test_db_message row;
	struct e2e_sealed sealed;
	const char *why = NULL;

	assert_int_equal(test_db_message(t->srv, convo, seq, &row), 0);
	assert_int_equal(e2e_message_parse(row.body, d->user,
	                                   chat_client_device(d->c), &sealed,
	                                   &why),
	                 -1);
	assert_string_equal(why, "no key for this device");
	e2e_sealed_free(&sealed);
	free(row.body);
}

CHAT_TEST(a_removed_members_device_cannot_decrypt_what_is_sent_after)
{
	struct device *alice, *bob, *carol;
	const char *members[] = {"bob", "carol"};
	const char *removed[] = {"carol"};
	const struct seen_message *m;
	struct test_client *admin;
	char convo[TEST_ID_MAX];
	struct e2e t;
	long seq;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	carol = add_user(&t, "carol");
	admin = make_group(&t, alice, members, 2, convo);
	send_text(alice, convo, "before");
	sync_device(carol);
	assert_non_null(seen_text(carol, convo, "before"));

	assert_true(test_group_remove(admin, convo, removed, 1) > 0);
	test_client_close(admin);
	send_text(alice, convo, "after " MARKER);
	sync_device(bob);
	m = seen_text(bob, convo, "after " MARKER);
	assert_non_null(m);
	seq = (long)m->seq;
	/* Even holding the stored ciphertext, carol's device has no key. */
	assert_not_for(&t, convo, seq, carol);
	sync_device(carol);
	assert_null(seen_seq(carol, convo, seq));
	finish(&t);
}

/* Publishes body under a new cmid as the raw client's user; returns the
 * seq the server gave it. */
static long long publish_body(struct test_client *c, const char *convo,
                              const char *cmid, const char *body)
{
	cJSON *tick;

	assert_int_equal(test_client_send(c, convo, cmid, body, NULL), 0);
	tick = test_client_wait_tick(c, convo, cmid, WAIT);
	assert_non_null(tick);
	return test_json_number(tick, "seq");
}

static char *flip_ct(const char *body)
{
	cJSON *root = cJSON_Parse(body);
	unsigned char *ct;
	size_t len;
	char *text, *out;

	assert_int_equal(
	    e2e_b64_decode(cJSON_GetObjectItem(root, "ct")->valuestring, &ct,
	                   &len),
	    0);
	ct[0] ^= 0x20;
	text = e2e_b64_encode(ct, len);
	cJSON_ReplaceItemInObject(root, "ct", cJSON_CreateString(text));
	out = cJSON_PrintUnformatted(root);
	free(text);
	free(ct);
	cJSON_Delete(root);
	return out;
}

CHAT_TEST(a_tampered_ciphertext_or_a_forged_sender_is_refused_by_the_reader)
{
	struct device *alice, *bob, *mallory;
	const char *members[] = {"bob", "mallory"};
	struct test_client *raw_alice, *raw_mallory;
	const struct seen_message *m;
	struct test_db_message row;
	long long tampered_seq, forged_seq;
	char convo[TEST_ID_MAX];
	char *tampered;
	struct e2e t;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	mallory = add_user(&t, "mallory");
	test_client_close(make_group(&t, alice, members, 2, convo));
	send_text(alice, convo, "genuine");
	sync_device(bob);
	m = seen_text(bob, convo, "genuine");
	assert_non_null(m);
	assert_int_equal(test_db_message(t.srv, convo, (long)m->seq, &row), 0);

	/* alice's own account sends a copy with one ciphertext bit flipped;
	 * mallory replays alice's envelope as hers, naming alice's device. */
	raw_alice = raw_client(&t, alice);
	tampered = flip_ct(row.body);
	tampered_seq = publish_body(raw_alice, convo, "tampered-1", tampered);
	raw_mallory = raw_client(&t, mallory);
	forged_seq = publish_body(raw_mallory, convo, "forged-1", row.body);
	free(tampered);
	free(row.body);
	send_text(alice, convo, "still fine");

	sync_device(bob);
	m = seen_seq(bob, convo, tampered_seq);
	assert_non_null(m);
	assert_int_equal(m->kind, CHAT_MESSAGE_UNREADABLE);
	assert_non_null(strstr(m->error, "altered"));
	m = seen_seq(bob, convo, forged_seq);
	assert_non_null(m);
	assert_int_equal(m->kind, CHAT_MESSAGE_UNREADABLE);
	assert_string_equal(m->from, "mallory");
	assert_non_null(strstr(m->error, "unknown sender device"));
	/* The reader goes on. */
	assert_non_null(seen_text(bob, convo, "still fine"));
	assert_int_equal(count_text(bob, "genuine"), 1);
	finish(&t);
}

static cJSON *bundle_for(const struct e2e_identity *id, const char *user,
                         const char *device)
{
	struct e2e_device_keys keys;
	struct e2e_bundle b = {0};

	e2e_device_keys_generate(&keys);
	snprintf(b.user, sizeof(b.user), "%s", user);
	snprintf(b.device, sizeof(b.device), "%s", device);
	memcpy(b.key, keys.public_key, sizeof(b.key));
	memcpy(b.identity, id->public_key, sizeof(b.identity));
	b.created = chat_now_ms();
	return e2e_bundle_sign(&b, id->secret_key);
}

static cJSON *request_with(struct test_client *c, const char *op,
                           const char *name, cJSON *item)
{
	char *text = cJSON_PrintUnformatted(item);
	cJSON *resp;

	resp = test_client_request(c, WAIT, "{\"op\":\"%s\",\"%s\":%s}", op,
	                           name, text);
	free(text);
	cJSON_Delete(item);
	return resp;
}

static void set_b64(cJSON *obj, const char *name, const unsigned char *bin,
                    size_t len)
{
	char *text = e2e_b64_encode(bin, len);

	cJSON_ReplaceItemInObject(obj, name, cJSON_CreateString(text));
	free(text);
}

CHAT_TEST(a_forged_key_bundle_or_device_list_is_refused_by_the_server)
{
	struct e2e_identity mine, other;
	struct e2e_device_list list = {0};
	struct device *alice, *bob;
	struct test_client *raw;
	char convo[TEST_ID_MAX], device[TEST_ID_MAX];
	cJSON *bundle, *resp;
	struct e2e t;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	raw = raw_client(&t, alice);
	resp = test_client_request(raw, WAIT, "{\"op\":\"whoami\"}");
	chat_assert_ok(resp);
	snprintf(device, sizeof(device), "%s",
	         test_json_string(resp, "device"));
	e2e_identity_generate(&mine);
	e2e_identity_generate(&other);

	/* A signature that does not verify with the bundle's identity. */
	bundle = bundle_for(&other, "alice", device);
	set_b64(bundle, "identity", mine.public_key, sizeof(mine.public_key));
	resp = request_with(raw, "publish_bundle", "bundle", bundle);
	chat_assert_refused(resp, "bad_signature");
	/* Well signed, but for another user, or another device. */
	resp = request_with(raw, "publish_bundle", "bundle",
	                    bundle_for(&mine, "bob", device));
	chat_assert_refused(resp, "forbidden");
	resp = request_with(raw, "publish_bundle", "bundle",
	                    bundle_for(&mine, "alice", "999999"));
	chat_assert_refused(resp, "forbidden");

	/* A device list for bob, and one whose signature is bad. */
	snprintf(list.user, sizeof(list.user), "bob");
	memcpy(list.identity, mine.public_key, sizeof(list.identity));
	list.version = 99;
	assert_int_equal(e2e_device_list_add(&list, device), 0);
	resp = request_with(raw, "publish_devices", "list",
	                    e2e_device_list_sign(&list, mine.secret_key));
	chat_assert_refused(resp, "forbidden");
	snprintf(list.user, sizeof(list.user), "alice");
	bundle = e2e_device_list_sign(&list, other.secret_key);
	set_b64(bundle, "identity", mine.public_key, sizeof(mine.public_key));
	resp = request_with(raw, "publish_devices", "list", bundle);
	chat_assert_refused(resp, "bad_signature");
	e2e_device_list_free(&list);
	test_client_close(raw);

	/* None of it reached the directory: bob still reads alice. */
	chat_fixture_direct(t.srv, "alice", "bob", convo);
	send_text(alice, convo, "my keys are my own");
	sync_device(bob);
	assert_non_null(seen_text(bob, convo, "my keys are my own"));
	finish(&t);
}

/* Stops the upload once about a third of it went through. */
static int stop_at_a_third(void *ctx, long long done, long long total)
{
	long long *first = ctx;

	if (*first < 0)
		*first = done;
	return done > total / 3 ? 1 : 0;
}

static int note_first(void *ctx, long long done, long long total)
{
	long long *first = ctx;

	(void)total;
	if (*first < 0)
		*first = done;
	return 0;
}

CHAT_TEST(a_20_mib_file_uploaded_with_an_interruption_arrives_byte_identical)
{
	long long first = -1, resumed_at = -1;
	char convo[TEST_ID_MAX], file[PATH_MAX], back[PATH_MAX];
	char cmid[CHAT_CMID_SIZE];
	const struct seen_message *m = NULL;
	struct device *alice, *bob;
	struct e2e t;
	int rc;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	chat_fixture_direct(t.srv, "alice", "bob", convo);
	snprintf(file, sizeof(file), "%s/big.bin", t.dir);
	snprintf(back, sizeof(back), "%s/big.back", t.dir);
	write_marker_file(file, BIG_FILE);

	rc = chat_client_send_file(alice->c, convo, file, NULL, stop_at_a_third,
	                           &first, cmid);
	assert_int_equal(rc, CHAT_ERR_STOPPED);
	assert_true(first == 0);
	/* A new client on the same state, as after a restart. */
	chat_client_close(alice->c);
	alice->c = NULL;
	assert_int_equal(chat_client_open(alice->state, &alice->c, NULL, 0),
	                 CHAT_OK);
	assert_int_equal(chat_client_connect(alice->c, false), CHAT_OK);
	rc = chat_client_send_file(alice->c, convo, file, NULL, note_first,
	                           &resumed_at, cmid);
	if (rc != CHAT_OK)
		fail_msg("resume failed: %s", chat_client_error(alice->c));
	/* It went on from where the server was, not from the start. */
	assert_true(resumed_at > BIG_FILE / 3);
	assert_int_equal(chat_client_wait_sent(alice->c, convo, cmid, WAIT),
	                 CHAT_OK);

	sync_device(bob);
	for (size_t i = 0; i < bob->count; i++)
		if (bob->seen[i].kind == CHAT_MESSAGE_FILE)
			m = &bob->seen[i];
	assert_non_null(m);
	rc = chat_client_get_file(bob->c, convo, m->seq, back);
	if (rc != CHAT_OK)
		fail_msg("download failed: %s", chat_client_error(bob->c));
	assert_same_file(file, back);
	assert_server_holds_no_marker(t.srv);
	finish(&t);
}

/* Asks for chunk 0 of blob and watches the client's blob topic. */
static bool blob_chunk_arrives(struct test_client *c, const char *blob)
{
	char topic[TEST_ID_MAX + 32], request[160], id[TEST_CMID_MAX];
	struct test_match m = {.topic = topic};
	long long deadline = test_now_ms() + WAIT;

	snprintf(topic, sizeof(topic), "chat/u/%s/blob", c->user);
	snprintf(request, sizeof(request),
	         "{\"op\":\"blob_get\",\"blob\":\"%s\",\"index\":0}", blob);
	assert_int_equal(test_client_request_send(c, request, id), 0);
	while (test_now_ms() < deadline) {
		if (test_client_count(c, &m, 0) > 0)
			return true;
		if (test_client_wait_response(c, id, 100) != NULL)
			break; /* a refusal, or an answer without chunk */
	}
	test_sleep_ms(300);
	return test_client_count(c, &m, 0) > 0;
}

CHAT_TEST(a_file_is_refused_to_a_non_member)
{
	char convo[TEST_ID_MAX], file[PATH_MAX], cmid[CHAT_CMID_SIZE];
	const struct seen_message *m = NULL;
	struct device *alice, *bob, *carol;
	struct test_client *raw;
	cJSON *resp;
	struct e2e t;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	carol = add_user(&t, "carol");
	chat_fixture_direct(t.srv, "alice", "bob", convo);
	snprintf(file, sizeof(file), "%s/small.bin", t.dir);
	write_marker_file(file, 1000);
	assert_int_equal(chat_client_send_file(alice->c, convo, file, NULL,
	                                       NULL, NULL, cmid),
	                 CHAT_OK);
	assert_int_equal(chat_client_wait_sent(alice->c, convo, cmid, WAIT),
	                 CHAT_OK);
	sync_device(bob);
	for (size_t i = 0; i < bob->count; i++)
		if (bob->seen[i].kind == CHAT_MESSAGE_FILE)
			m = &bob->seen[i];
	assert_non_null(m);

	/* A member gets the chunk, on the blob topic. */
	raw = raw_client(&t, bob);
	assert_true(blob_chunk_arrives(raw, m->blob));
	test_client_close(raw);
	raw = raw_client(&t, carol);
	resp = test_client_request(
	    raw, WAIT, "{\"op\":\"blob_get\",\"blob\":\"%s\",\"index\":0}",
	    m->blob);
	assert_non_null(resp);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")));
	assert_false(blob_chunk_arrives(raw, m->blob));
	test_client_close(raw);
	finish(&t);
}

/* The outbox of a state file, read while its program may run. */
static int outbox_rows(const char *state)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int rows = -1;

	if (sqlite3_open_v2(state, &db, SQLITE_OPEN_READONLY, NULL) ==
	        SQLITE_OK &&
	    sqlite3_busy_timeout(db, 1000) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox", -1, &stmt,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		rows = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return rows;
}

/* Starts `chat send`, and kills it (SIGKILL) once the message is in its
 * outbox, with the bridge paused so that no tick can come before. */
static bool kill_mid_send(struct e2e *t, const char *state, const char *convo,
                          const char *text)
{
	char chat[PATH_MAX], port[16], log[PATH_MAX];
	char *argv[] = {chat,          "-p",          port,
	                "-s",          (char *)state, "send",
	                (char *)convo, (char *)text,  NULL};
	struct test_process p;
	long long deadline = test_now_ms() + CLI_WAIT;
	bool pending = false;

	snprintf(chat, sizeof(chat), "%s/chat", t->srv->build_dir);
	snprintf(port, sizeof(port), "%d", t->srv->port);
	snprintf(log, sizeof(log), "%s/send.log", t->dir);
	assert_int_equal(test_process_spawn(&p, "chat-send", argv, NULL, log),
	                 0);
	while (!pending && test_now_ms() < deadline && test_process_alive(&p)) {
		pending = outbox_rows(state) > 0;
		if (pending)
			kill(t->srv->bridge.pid, SIGSTOP);
		else
			test_sleep_ms(1);
	}
	test_sleep_ms(200); /* the publish is on its way */
	test_process_kill(&p);
	kill(t->srv->bridge.pid, SIGCONT);
	return pending;
}

CHAT_TEST(a_client_killed_mid_send_delivers_the_message_exactly_once)
{
	char alice[PATH_MAX], out[8192], convo[TEST_ID_MAX];
	char alice_token[TEST_TOKEN_MAX];
	struct device *bob;
	struct e2e t;

	start(fx, &t);
	chat_fixture_user(t.srv, "alice", alice_token);
	bob = add_user(&t, "bob");
	chat_fixture_direct(t.srv, "alice", "bob", convo);
	snprintf(alice, sizeof(alice), "%s/alice.db", t.dir);
	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "init", "--user",
	                          "alice", "--token", alice_token, NULL),
	                 0);

	assert_true(kill_mid_send(&t, alice, convo, "exactly once"));
	assert_int_equal(outbox_rows(alice), 1);
	/* Started again, any command sends the outbox with the same cmid. */
	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "sync", NULL),
	                 0);
	assert_int_equal(outbox_rows(alice), 0);
	sync_device(bob);
	assert_int_equal(count_text(bob, "exactly once"), 1);
	assert_int_equal(test_db_count_messages(t.srv, convo), 1);

	/* Killed at other moments, from before the outbox to after the
	 * tick: never lost once in the outbox, never twice. */
	for (int i = 0; i < 6; i++) {
		char chat[PATH_MAX], port[16], log[PATH_MAX], text[32];
		char *argv[] = {chat,   "-p",  port, "-s", alice,
		                "send", convo, text, NULL};
		struct test_process p;

		snprintf(chat, sizeof(chat), "%s/chat", t.srv->build_dir);
		snprintf(port, sizeof(port), "%d", t.srv->port);
		snprintf(log, sizeof(log), "%s/send.log", t.dir);
		snprintf(text, sizeof(text), "attempt %d", i);
		assert_int_equal(
		    test_process_spawn(&p, "chat-send", argv, NULL, log), 0);
		test_sleep_ms(test_timeout_ms(40 * i));
		test_process_kill(&p);
	}
	assert_int_equal(run_chat(&t, alice, out, sizeof(out), "sync", NULL),
	                 0);
	assert_int_equal(outbox_rows(alice), 0);
	sync_device(bob);
	for (int i = 0; i < 6; i++) {
		char text[32];

		snprintf(text, sizeof(text), "attempt %d", i);
		assert_true(count_text(bob, text) <= 1);
	}
	assert_int_equal(count_text(bob, "exactly once"), 1);
	finish(&t);
}

CHAT_TEST(a_changed_identity_key_stops_sending_until_trusted)
{
	char convo[TEST_ID_MAX], cmid[CHAT_CMID_SIZE], path[PATH_MAX];
	struct chat_safety before, after;
	struct device *alice, *bob, *bob2;
	struct chat_init_options o;
	char fingerprint[CHAT_FINGERPRINT_SIZE], err[1024];
	struct e2e t;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	chat_fixture_direct(t.srv, "alice", "bob", convo);
	send_text(alice, convo, "first");
	assert_int_equal(chat_client_safety(alice->c, "bob", &before), CHAT_OK);
	assert_string_equal(before.user[0], "alice");
	assert_string_equal(before.user[1], "bob");
	assert_false(before.changed);

	/* bob starts over on a new state file: a new identity key. */
	bob2 = new_device(&t, "bob", bob->token);
	snprintf(path, sizeof(path), "%s", bob2->state);
	o = (struct chat_init_options){
	    path, "127.0.0.1", t.srv->port, "bob", bob->token, NULL, 0};
	assert_int_equal(chat_client_init(&o, err, sizeof(err)), CHAT_OK);

	assert_int_equal(chat_client_send_text(alice->c, convo, "second", cmid),
	                 CHAT_ERR_UNTRUSTED);
	assert_int_equal(chat_client_safety(alice->c, "bob", &after), CHAT_OK);
	assert_true(after.changed);
	assert_string_equal(after.fingerprint[1], before.fingerprint[1]);
	assert_string_not_equal(after.changed_fingerprint,
	                        before.fingerprint[1]);
	assert_int_equal(chat_client_trust(alice->c, "bob", fingerprint),
	                 CHAT_OK);
	assert_string_equal(fingerprint, after.changed_fingerprint);
	send_text(alice, convo, "third");
	finish(&t);
}

CHAT_TEST(a_message_a_device_cannot_read_is_sent_again_on_request)
{
	char convo[TEST_ID_MAX];
	const struct seen_message *m;
	struct device *alice, *bob, *bob2;
	long long seq;
	struct e2e t;

	start(fx, &t);
	alice = add_user(&t, "alice");
	bob = add_user(&t, "bob");
	chat_fixture_direct(t.srv, "alice", "bob", convo);
	send_text(alice, convo, "before your new phone");
	/* bob's new device did not exist when the message was sent. */
	bob2 = add_second_device(&t, bob);
	sync_device(bob2);
	m = seen_seq(bob2, convo, 1);
	assert_non_null(m);
	assert_int_equal(m->kind, CHAT_MESSAGE_UNREADABLE);
	assert_string_equal(m->error, "no key for this device");
	seq = m->seq;

	assert_int_equal(chat_client_request_resend(bob2->c, convo, seq),
	                 CHAT_OK);
	assert_int_equal(chat_client_flush(bob2->c, WAIT), CHAT_OK);
	/* alice's device answers by itself while it runs. */
	for (int i = 0; i < 20 && chat_client_flush(alice->c, 0) == CHAT_OK;
	     i++)
		chat_client_poll(alice->c, 200);
	assert_int_equal(chat_client_flush(alice->c, WAIT), CHAT_OK);
	sync_device(bob2);
	assert_non_null(seen_text(bob2, convo, "before your new phone"));
	finish(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        alice_and_bob_talk_with_chat_and_the_server_keeps_no_plaintext),
	    CHAT_TEST_ENTRY(
	        init_publishes_a_signed_bundle_device_list_and_prekeys),
	    CHAT_TEST_ENTRY(
	        every_device_of_a_group_of_five_reads_every_message),
	    CHAT_TEST_ENTRY(
	        a_removed_members_device_cannot_decrypt_what_is_sent_after),
	    CHAT_TEST_ENTRY(
	        a_tampered_ciphertext_or_a_forged_sender_is_refused_by_the_reader),
	    CHAT_TEST_ENTRY(
	        a_forged_key_bundle_or_device_list_is_refused_by_the_server),
	    CHAT_TEST_ENTRY(
	        a_20_mib_file_uploaded_with_an_interruption_arrives_byte_identical),
	    CHAT_TEST_ENTRY(a_file_is_refused_to_a_non_member),
	    CHAT_TEST_ENTRY(
	        a_client_killed_mid_send_delivers_the_message_exactly_once),
	    CHAT_TEST_ENTRY(a_changed_identity_key_stops_sending_until_trusted),
	    CHAT_TEST_ENTRY(
	        a_message_a_device_cannot_read_is_sent_again_on_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
