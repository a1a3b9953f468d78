/*
 * The client's state file: what a client killed at any moment finds when
 * it starts again. The outbox keeps each unticked message with its cmid
 * until the tick; a message is stored once per (convo, seq); the
 * contiguous cursor only moves forward and over what is held; a message is
 * shown once, in seq order, and never past a missing seq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/state.h"
#include "client/filecrypt.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char path[128];
	struct client_state s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL || chat_crypto_init() != 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/chat-state-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	if (client_state_open(f->path, true, &f->s, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	client_state_close(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Closes and opens the file again, as a restarted client does. */
static void reopen(struct fixture *f)
{
	char err[256];

	client_state_close(&f->s);
	assert_int_equal(
	    client_state_open(f->path, false, &f->s, err, sizeof(err)), 0);
}

static void store(struct fixture *f, const char *convo, long long seq,
                  const char *text, bool *inserted)
{
	struct client_message m = {0};
	bool ignored;

	m.convo = convo;
	m.seq = seq;
	m.sender = "bob";
	m.ts = 1000 + seq;
	m.cmid = "c";
	m.kind = CLIENT_KIND_TEXT;
	m.content = text;
	assert_int_equal(client_state_store_message(
	                     &f->s, &m, inserted ? inserted : &ignored),
	                 0);
}

/* ---- files and accounts ---- */

static void test_the_state_file_is_private_and_made_once(void **state)
{
	struct fixture *f = *state;
	struct client_state again;
	char err[256];
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(
	    client_state_open(f->path, true, &again, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
}

static void test_an_account_survives_a_restart(void **state)
{
	struct fixture *f = *state;
	struct client_account a = {0}, b;

	snprintf(a.user, sizeof(a.user), "alice");
	snprintf(a.token, sizeof(a.token), "tok");
	snprintf(a.host, sizeof(a.host), "127.0.0.1");
	a.port = 1884;
	snprintf(a.client_id, sizeof(a.client_id), "alice-1");
	e2e_identity_generate(&a.identity);
	e2e_device_keys_generate(&a.device_keys);
	a.bundle_created = 42;
	a.identity_created = true;
	assert_int_equal(client_state_load_account(&f->s, &b), 1);
	assert_int_equal(client_state_save_account(&f->s, &a), 0);
	assert_int_equal(client_state_set_device(&f->s, "7"), 0);
	assert_int_equal(client_state_set_published(&f->s, true), 0);
	reopen(f);
	assert_int_equal(client_state_load_account(&f->s, &b), 0);
	assert_string_equal(b.user, "alice");
	assert_string_equal(b.device, "7");
	assert_int_equal(b.port, 1884);
	assert_true(b.published && b.identity_created);
	assert_memory_equal(&b.identity, &a.identity, sizeof(a.identity));
	assert_memory_equal(&b.device_keys, &a.device_keys,
	                    sizeof(a.device_keys));
}

/* ---- outbox ---- */

struct collected {
	char cmids[8][CHAT_CMID_MAX + 1];
	char plaintexts[8][64];
	size_t count;
};

static int collect_entry(void *ctx, const struct client_outbox_entry *e)
{
	struct collected *c = ctx;

	snprintf(c->cmids[c->count], sizeof(c->cmids[0]), "%s", e->cmid);
	snprintf(c->plaintexts[c->count++], sizeof(c->plaintexts[0]), "%s",
	         e->plaintext);
	return 0;
}

static void add_outbox(struct fixture *f, const char *cmid, const char *text)
{
	struct client_outbox_entry e = {"c_1", cmid, text, NULL, 1, 0, 0};

	assert_int_equal(client_state_outbox_add(&f->s, &e), 0);
}

static void
test_the_outbox_keeps_unticked_messages_across_restarts(void **state)
{
	struct fixture *f = *state;
	struct collected c = {0};

	add_outbox(f, "m-1", "{\"text\":\"one\"}");
	add_outbox(f, "m-2", "{\"text\":\"two\"}");
	reopen(f);
	assert_int_equal(client_state_outbox_each(&f->s, collect_entry, &c), 0);
	assert_int_equal(c.count, 2);
	/* The same cmids, in the order sent: the server stores each once. */
	assert_string_equal(c.cmids[0], "m-1");
	assert_string_equal(c.cmids[1], "m-2");
	assert_string_equal(c.plaintexts[1], "{\"text\":\"two\"}");
}

static void test_a_tick_removes_exactly_its_entry(void **state)
{
	struct fixture *f = *state;
	struct collected c = {0};
	bool removed;
	long long count;

	add_outbox(f, "m-1", "one");
	add_outbox(f, "m-2", "two");
	assert_int_equal(
	    client_state_outbox_remove(&f->s, "c_1", "m-1", &removed), 0);
	assert_true(removed);
	assert_int_equal(
	    client_state_outbox_remove(&f->s, "c_1", "m-1", &removed), 0);
	assert_false(removed);
	/* A cmid of another conversation is another message. */
	assert_int_equal(
	    client_state_outbox_remove(&f->s, "c_2", "m-2", &removed), 0);
	assert_false(removed);
	reopen(f);
	assert_int_equal(client_state_outbox_count(&f->s, &count), 0);
	assert_true(count == 1);
	assert_int_equal(client_state_outbox_each(&f->s, collect_entry, &c), 0);
	assert_string_equal(c.cmids[0], "m-2");
}

/* A tick that arrives while the entry is being sent again is the stored
 * copy: one message, whatever the order. */
static void test_a_cmid_cannot_be_in_the_outbox_twice(void **state)
{
	struct fixture *f = *state;
	struct client_outbox_entry e = {"c_1", "m-1", "x", NULL, 1, 0, 0};

	assert_int_equal(client_state_outbox_add(&f->s, &e), 0);
	assert_int_equal(client_state_outbox_add(&f->s, &e), -1);
}

static int count_entry(void *ctx, const struct client_outbox_entry *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static void test_storing_a_tick_and_clearing_the_outbox_is_atomic(void **state)
{
	struct fixture *f = *state;
	bool removed, held;
	int entries = 0;

	add_outbox(f, "m-1", "one");
	/* Killed between the two writes: neither happened. */
	assert_int_equal(client_state_begin(&f->s), 0);
	store(f, "c_1", 1, "one", NULL);
	assert_int_equal(
	    client_state_outbox_remove(&f->s, "c_1", "m-1", &removed), 0);
	client_state_rollback(&f->s);
	reopen(f);
	assert_int_equal(client_state_has_message(&f->s, "c_1", 1, &held), 0);
	assert_false(held);
	assert_int_equal(client_state_outbox_each(&f->s, count_entry, &entries),
	                 0);
	assert_int_equal(entries, 1);
}

/* ---- messages and cursors ---- */

static void test_a_message_is_stored_once_per_convo_and_seq(void **state)
{
	struct fixture *f = *state;
	bool inserted;

	store(f, "c_1", 1, "first", &inserted);
	assert_true(inserted);
	store(f, "c_1", 1, "a redelivery", &inserted);
	assert_false(inserted);
	store(f, "c_2", 1, "another conversation", &inserted);
	assert_true(inserted);
}

static void test_the_cursor_advances_only_over_what_is_held(void **state)
{
	struct fixture *f = *state;
	long long contiguous;

	store(f, "c_1", 1, "1", NULL);
	store(f, "c_1", 2, "2", NULL);
	store(f, "c_1", 4, "4", NULL);
	assert_int_equal(client_state_advance(&f->s, "c_1", 0, &contiguous), 0);
	assert_true(contiguous == 2);
	/* A sync page covering 3 (a hole in the log) moves it past 3 and
	 * over the 4 already held. */
	assert_int_equal(client_state_advance(&f->s, "c_1", 3, &contiguous), 0);
	assert_true(contiguous == 4);
	/* Never backwards. */
	assert_int_equal(client_state_advance(&f->s, "c_1", 1, &contiguous), 0);
	assert_true(contiguous == 4);
	reopen(f);
	assert_int_equal(client_state_contiguous(&f->s, "c_1", &contiguous), 0);
	assert_true(contiguous == 4);
	assert_int_equal(client_state_contiguous(&f->s, "c_9", &contiguous), 0);
	assert_true(contiguous == 0);
}

struct shown {
	long long seqs[16];
	char convos[16][CHAT_ID_MAX + 1];
	size_t count;
	size_t stop_after; /* 0: never */
};

static int show(void *ctx, const struct client_message *m)
{
	struct shown *s = ctx;

	if (s->stop_after && s->count == s->stop_after)
		return 1;
	snprintf(s->convos[s->count], sizeof(s->convos[0]), "%s", m->convo);
	s->seqs[s->count++] = m->seq;
	return 0;
}

static void test_messages_are_shown_once_in_seq_order_up_to_a_gap(void **state)
{
	struct fixture *f = *state;
	struct shown s = {0}, again = {0};
	long long contiguous;

	store(f, "c_1", 3, "3", NULL);
	store(f, "c_1", 1, "1", NULL);
	store(f, "c_1", 2, "2", NULL);
	store(f, "c_1", 5, "5", NULL);
	assert_int_equal(client_state_advance(&f->s, "c_1", 0, &contiguous), 0);
	assert_int_equal(client_state_show_pending(&f->s, NULL, show, &s), 0);
	assert_int_equal(s.count, 3);
	for (size_t i = 0; i < 3; i++)
		assert_true(s.seqs[i] == (long long)i + 1);
	/* Restarted: nothing is shown twice; 5 waits for 4. */
	reopen(f);
	assert_int_equal(client_state_show_pending(&f->s, NULL, show, &again),
	                 0);
	assert_int_equal(again.count, 0);
	store(f, "c_1", 4, "4", NULL);
	assert_int_equal(client_state_advance(&f->s, "c_1", 0, &contiguous), 0);
	assert_int_equal(client_state_show_pending(&f->s, NULL, show, &again),
	                 0);
	assert_int_equal(again.count, 2);
	assert_true(again.seqs[0] == 4 && again.seqs[1] == 5);
}

/* A reader that stops (killed while printing) leaves the rest unshown. */
static void test_a_message_not_taken_stays_due(void **state)
{
	struct fixture *f = *state;
	struct shown s = {.stop_after = 1}, rest = {0};
	long long contiguous;

	store(f, "c_1", 1, "1", NULL);
	store(f, "c_1", 2, "2", NULL);
	assert_int_equal(client_state_advance(&f->s, "c_1", 0, &contiguous), 0);
	assert_int_equal(client_state_show_pending(&f->s, NULL, show, &s), 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(client_state_show_pending(&f->s, NULL, show, &rest),
	                 0);
	assert_int_equal(rest.count, 1);
	assert_true(rest.seqs[0] == 2);
}

static int note_due(void *ctx, const char *convo, long long contiguous)
{
	struct shown *s = ctx;

	snprintf(s->convos[s->count], sizeof(s->convos[0]), "%s", convo);
	s->seqs[s->count++] = contiguous;
	return 0;
}

static void test_receipts_are_due_once_per_advance(void **state)
{
	struct fixture *f = *state;
	struct shown due = {0}, none = {0}, read = {0};
	long long contiguous;

	store(f, "c_1", 1, "1", NULL);
	store(f, "c_1", 2, "2", NULL);
	assert_int_equal(client_state_advance(&f->s, "c_1", 0, &contiguous), 0);
	assert_int_equal(
	    client_state_receipts_due(&f->s, false, note_due, &due), 0);
	assert_int_equal(due.count, 1);
	assert_string_equal(due.convos[0], "c_1");
	assert_true(due.seqs[0] == 2);
	assert_int_equal(client_state_set_receipts(&f->s, "c_1", 2, 0), 0);
	assert_int_equal(
	    client_state_receipts_due(&f->s, false, note_due, &none), 0);
	assert_int_equal(none.count, 0);
	assert_int_equal(
	    client_state_receipts_due(&f->s, true, note_due, &read), 0);
	assert_int_equal(read.count, 1);
}

/* ---- uploads and resend answers ---- */

static int copy_upload(void *ctx, const struct client_upload *u)
{
	struct client_upload *out = ctx;

	assert_string_equal(u->cipher_path, "/tmp/x.enc");
	assert_non_null(u->upload);
	out->id = u->id;
	out->plain_size = u->plain_size;
	out->cipher_size = u->cipher_size;
	return 0;
}

static void test_an_upload_in_progress_survives_a_restart(void **state)
{
	struct fixture *f = *state;
	unsigned char key[E2E_FILE_KEY_BYTES] = {1};
	unsigned char hash[E2E_FILE_HASH_BYTES] = {2};
	struct client_upload u = {0}, got = {0};
	long long id;

	u.convo = "c_1";
	u.cmid = "m-9";
	u.path = "/home/a/file";
	u.name = "file";
	u.cipher_path = "/tmp/x.enc";
	u.file_key = key;
	u.hash = hash;
	u.plain_size = 10;
	u.cipher_size = 51;
	assert_int_equal(client_state_upload_add(&f->s, &u, &id), 0);
	assert_int_equal(client_state_upload_set_id(&f->s, id, "u-1"), 0);
	reopen(f);
	assert_int_equal(client_state_upload_each(&f->s, copy_upload, &got), 0);
	assert_true(got.id == id && got.plain_size == 10 &&
	            got.cipher_size == 51);
	assert_int_equal(client_state_upload_remove(&f->s, id), 0);
	got.id = 0;
	assert_int_equal(client_state_upload_each(&f->s, copy_upload, &got), 0);
	assert_true(got.id == 0);
}

static void test_resend_answers_are_counted(void **state)
{
	struct fixture *f = *state;
	int answers = 0;

	for (int i = 1; i <= 3; i++) {
		assert_int_equal(
		    client_state_count_resend(&f->s, "c_1", 5, &answers), 0);
		assert_int_equal(answers, i);
	}
	assert_int_equal(client_state_count_resend(&f->s, "c_1", 6, &answers),
	                 0);
	assert_int_equal(answers, 1);
}

static void test_a_trusted_identity_can_be_replaced(void **state)
{
	struct fixture *f = *state;
	unsigned char a[E2E_IDENTITY_PUBLIC_BYTES] = {1};
	unsigned char b[E2E_IDENTITY_PUBLIC_BYTES] = {2};
	unsigned char got[E2E_IDENTITY_PUBLIC_BYTES];
	bool found;

	assert_int_equal(client_state_identity(&f->s, "bob", got, &found), 0);
	assert_false(found);
	assert_int_equal(client_state_pin_identity(&f->s, "bob", a), 0);
	assert_int_equal(client_state_pin_identity(&f->s, "bob", b), 0);
	reopen(f);
	assert_int_equal(client_state_identity(&f->s, "bob", got, &found), 0);
	assert_true(found);
	assert_memory_equal(got, b, sizeof(b));
}

#define STATE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STATE_TEST(test_the_state_file_is_private_and_made_once),
	    STATE_TEST(test_an_account_survives_a_restart),
	    STATE_TEST(test_the_outbox_keeps_unticked_messages_across_restarts),
	    STATE_TEST(test_a_tick_removes_exactly_its_entry),
	    STATE_TEST(test_a_cmid_cannot_be_in_the_outbox_twice),
	    STATE_TEST(test_storing_a_tick_and_clearing_the_outbox_is_atomic),
	    STATE_TEST(test_a_message_is_stored_once_per_convo_and_seq),
	    STATE_TEST(test_the_cursor_advances_only_over_what_is_held),
	    STATE_TEST(test_messages_are_shown_once_in_seq_order_up_to_a_gap),
	    STATE_TEST(test_a_message_not_taken_stays_due),
	    STATE_TEST(test_receipts_are_due_once_per_advance),
	    STATE_TEST(test_an_upload_in_progress_survives_a_restart),
	    STATE_TEST(test_resend_answers_are_counted),
	    STATE_TEST(test_a_trusted_identity_can_be_replaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
