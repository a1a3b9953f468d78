/*
 * The bridge's own log: problems clients cause are capped per second and
 * summed up in one line, while every other line is always written; and a
 * bad hand-off costs one line and nothing else.
 */
#include "bridge/handoff.h"
#include "bridge/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define VALID_ITEM(cmid)                                                       \
	"{\"id\":\"7404551231553458176\",\"convo\":\"team\","                  \
	"\"from\":\"alice\",\"ts\":1764770000123,\"cmid\":\"" cmid "\","       \
	"\"body\":\"hi\",\"client\":\"alice-phone\"}"

/* Standard error, sent to a file while a test looks at it. */
struct capture {
	char path[64];
	int saved;
	char *text;
};

static void capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/test_bridge_log_XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
	c->text = NULL;
}

/* Restores standard error and reads what was written meanwhile. */
static const char *capture_stop(struct capture *c)
{
	FILE *f;
	long size;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	f = fopen(c->path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	c->text = calloc(1, (size_t)size + 1);
	assert_int_equal(fread(c->text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	unlink(c->path);
	return c->text;
}

static size_t count_lines(const char *text, const char *containing)
{
	size_t n = 0;

	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (memmem(line, len, containing, strlen(containing)) != NULL)
			n++;
		line += len + (end ? 1 : 0);
	}
	return n;
}

static time_t monotonic_second(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/* Waits for a new second, so a test has a whole second's budget. */
static void wait_for_next_second(void)
{
	time_t start = monotonic_second();

	while (monotonic_second() == start)
		usleep(1000);
	bridge_log_tick();
}

static void test_client_problems_are_capped_each_second(void **state)
{
	struct capture c;
	const char *text;

	(void)state;
	wait_for_next_second();
	capture_start(&c);
	for (int i = 0; i < 50; i++)
		bridge_client_error("bad hand-off number %d", i);
	bridge_log_tick(); /* within the same second: nothing to add */
	wait_for_next_second();
	bridge_client_warning("first of the next second");
	text = capture_stop(&c);

	assert_int_equal(count_lines(text, "bad hand-off number"),
	                 BRIDGE_LOG_CLIENT_PER_SECOND);
	assert_int_equal(count_lines(text, "bad hand-off number 19"), 1);
	assert_int_equal(count_lines(text, "bad hand-off number 20"), 0);
	assert_int_equal(
	    count_lines(text, "warning: 30 more client problems not logged "
	                      "in the last second"),
	    1);
	assert_int_equal(count_lines(text, "first of the next second"), 1);
	/* The count comes right after the second it is about. */
	assert_true(strstr(text, "30 more") < strstr(text, "first of the"));
	free(c.text);
}

static void test_other_lines_are_never_held_back(void **state)
{
	struct capture c;
	const char *text;

	(void)state;
	wait_for_next_second();
	capture_start(&c);
	for (int i = 0; i < 100; i++)
		bridge_client_error("refused request %d", i);
	for (int i = 0; i < 100; i++)
		bridge_error("database line %d", i);
	bridge_info("stopping");
	text = capture_stop(&c);

	assert_int_equal(count_lines(text, "refused request"),
	                 BRIDGE_LOG_CLIENT_PER_SECOND);
	assert_int_equal(count_lines(text, "database line"), 100);
	assert_int_equal(count_lines(text, "info: stopping"), 1);
	free(c.text);
	wait_for_next_second();
}

static void
test_unparsable_handoff_is_one_line_and_changes_nothing(void **state)
{
	struct bridge_batch b = {0};
	const char *good = "[" VALID_ITEM("m1") "]";
	const char *later = "[" VALID_ITEM("m2") "]";
	const char *broken = "[" VALID_ITEM("x") ",{\"id\":";
	struct capture c;
	const char *text;
	char line[128];

	(void)state;
	wait_for_next_second();
	assert_int_equal(bridge_handoff_messages(good, strlen(good), &b), 1);
	capture_start(&c);
	assert_int_equal(bridge_handoff_messages(broken, strlen(broken), &b),
	                 0);
	text = capture_stop(&c);
	assert_int_equal(bridge_handoff_messages(later, strlen(later), &b), 1);

	snprintf(line, sizeof(line),
	         "error: dropped a message hand-off of %zu bytes: not valid "
	         "JSON",
	         strlen(broken));
	assert_int_equal(count_lines(text, "chat-bridge"), 1);
	assert_int_equal(count_lines(text, line), 1);
	assert_int_equal(b.count, 2);
	assert_string_equal(b.messages[0].cmid, "m1");
	assert_string_equal(b.messages[1].cmid, "m2");
	bridge_batch_clear(&b);
	free(c.text);
}

static void test_malformed_items_are_one_line_per_handoff(void **state)
{
	struct bridge_batch b = {0};
	const char *payload =
	    "[" VALID_ITEM("m1") ",7,"
	                         "{\"convo\":\"team\"}," VALID_ITEM("m2") "]";
	struct capture c;
	const char *text;

	(void)state;
	wait_for_next_second();
	capture_start(&c);
	assert_int_equal(bridge_handoff_messages(payload, strlen(payload), &b),
	                 2);
	text = capture_stop(&c);

	assert_int_equal(count_lines(text, "chat-bridge"), 1);
	assert_int_equal(count_lines(text, "skipped 2 of 4 handed-off "
	                                   "messages (first: not an object)"),
	                 1);
	assert_string_equal(b.messages[0].cmid, "m1");
	assert_string_equal(b.messages[1].cmid, "m2");
	bridge_batch_clear(&b);
	free(c.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_problems_are_capped_each_second),
	    cmocka_unit_test(test_other_lines_are_never_held_back),
	    cmocka_unit_test(
	        test_unparsable_handoff_is_one_line_and_changes_nothing),
	    cmocka_unit_test(test_malformed_items_are_one_line_per_handoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
