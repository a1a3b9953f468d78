/*
 * One mosquitto.conf configures the broker, the plugin, the bridge and the
 * CLI. The chat options are the plugin_opt_* lines under the chat plugin's
 * `plugin` line; the bridge also needs the first listener to connect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conf_file {
	char path[64];
	char err[512];
	struct chat_options opts;
};

/* Writes text to a fresh temporary mosquitto.conf and loads it over the
 * defaults. Returns what chat_options_load_file returned. */
static int load_conf(struct conf_file *conf, const char *text)
{
	int fd;
	FILE *f;

	snprintf(conf->path, sizeof(conf->path), "/tmp/chat-options-XXXXXX");
	fd = mkstemp(conf->path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	conf->err[0] = '\0';
	chat_options_defaults(&conf->opts);
	return chat_options_load_file(&conf->opts, conf->path, conf->err,
	                              sizeof(conf->err));
}

static int remove_conf(void **state)
{
	struct conf_file *conf = *state;

	if (conf->path[0] != '\0')
		unlink(conf->path);
	free(conf);
	return 0;
}

static int make_conf(void **state)
{
	struct conf_file *conf = calloc(1, sizeof(*conf));

	*state = conf;
	return conf == NULL ? -1 : 0;
}

static void test_defaults_match_the_documentation(void **state)
{
	struct chat_options opts;

	(void)state;
	chat_options_defaults(&opts);
	assert_string_equal(opts.db_path, "state/chat.db");
	assert_string_equal(opts.topic_prefix, "chat");
	assert_string_equal(opts.service_user, "$bridge");
	assert_string_equal(opts.service_client_id, "chat-bridge");
	assert_string_equal(opts.service_token_file, "state/bridge.token");
	assert_string_equal(opts.synchronous, "full");
	assert_int_equal(opts.node_id, 1);
	assert_int_equal(opts.max_envelope_bytes, 65536);
	assert_int_equal(opts.max_request_bytes, 65536);
	assert_int_equal(opts.max_pending, 900);
	assert_int_equal(opts.resend_window_ms, 10000);
	assert_int_equal(opts.sync_page_default, 100);
	assert_int_equal(opts.sync_page_max, 500);
	assert_int_equal(opts.page_max_bytes, 262144);
	assert_string_equal(opts.listener_host, "127.0.0.1");
	assert_int_equal(opts.listener_port, 1883);
}

static void test_options_under_the_chat_plugin_line_are_applied(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf, "plugin build/chat_plugin.so\n"
	                                 "plugin_opt_database /var/lib/chat/chat.db\n"
	                                 "plugin_opt_topic_prefix talk\n"
	                                 "plugin_opt_node_id 42\n"
	                                 "plugin_opt_max_pending 77\n"
	                                 "plugin_opt_synchronous normal\n"
	                                 "plugin_opt_service_user svc\n"),
	                 0);
	assert_string_equal(conf->opts.db_path, "/var/lib/chat/chat.db");
	assert_string_equal(conf->opts.topic_prefix, "talk");
	assert_int_equal(conf->opts.node_id, 42);
	assert_int_equal(conf->opts.max_pending, 77);
	assert_string_equal(conf->opts.synchronous, "normal");
	assert_string_equal(conf->opts.service_user, "svc");
}

static void test_options_outside_the_chat_plugin_are_ignored(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf, "plugin_opt_database before-any-plugin.db\n"
	                                 "plugin /usr/lib/other_plugin.so\n"
	                                 "plugin_opt_database other.db\n"
	                                 "plugin_opt_node_id not-a-number\n"
	                                 "plugin /opt/chat/chat_plugin.so\n"
	                                 "plugin_opt_topic_prefix mine\n"
	                                 "plugin /usr/lib/third.so\n"
	                                 "plugin_opt_topic_prefix theirs\n"),
	                 0);
	assert_string_equal(conf->opts.db_path, "state/chat.db");
	assert_int_equal(conf->opts.node_id, 1);
	assert_string_equal(conf->opts.topic_prefix, "mine");
}

static void test_comments_blank_lines_and_spacing_are_tolerated(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf,
	                           "# a comment\n"
	                           "\n"
	                           "   \t\n"
	                           "plugin\tbuild/chat_plugin.so\n"
	                           "  # plugin_opt_database commented.db\n"
	                           "  plugin_opt_database   my dir/chat.db  \t\n"
	                           "plugin_opt_node_id\t7"),
	                 0);
	assert_string_equal(conf->opts.db_path, "my dir/chat.db");
	assert_int_equal(conf->opts.node_id, 7);
}

static void test_unknown_chat_options_are_ignored(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf, "plugin build/chat_plugin.so\n"
	                                 "plugin_opt_no_such_option 5\n"
	                                 "plugin_opt_node_id 3\n"),
	                 0);
	assert_int_equal(conf->opts.node_id, 3);
}

static void test_invalid_value_is_rejected_with_its_line(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf, "plugin build/chat_plugin.so\n"
	                                 "plugin_opt_node_id 5\n"
	                                 "plugin_opt_max_pending lots\n"),
	                 -1);
	assert_non_null(strstr(conf->err, ":3:"));
	assert_non_null(strstr(conf->err, "plugin_opt_max_pending"));
}

static void test_option_without_value_is_rejected(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf, "plugin build/chat_plugin.so\n"
	                                 "plugin_opt_database\n"),
	                 -1);
	assert_non_null(strstr(conf->err, "plugin_opt_database"));
}

static void test_first_listener_gives_port_and_host(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf, "listener 1884 127.0.0.2\n"
	                                 "listener 8883 0.0.0.0\n"),
	                 0);
	assert_int_equal(conf->opts.listener_port, 1884);
	assert_string_equal(conf->opts.listener_host, "127.0.0.2");
}

static void test_listener_without_host_keeps_default_host(void **state)
{
	struct conf_file *conf = *state;

	assert_int_equal(load_conf(conf, "listener 1999\n"), 0);
	assert_int_equal(conf->opts.listener_port, 1999);
	assert_string_equal(conf->opts.listener_host, "127.0.0.1");
}

static void test_missing_file_is_an_error(void **state)
{
	struct chat_options opts;
	char err[256] = "";

	(void)state;
	chat_options_defaults(&opts);
	assert_int_equal(chat_options_load_file(&opts, "/nonexistent/x.conf",
	                                        err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "/nonexistent/x.conf"));
}

static void test_numbers_are_checked_against_their_range(void **state)
{
	struct chat_options opts;

	(void)state;
	chat_options_defaults(&opts);
	assert_int_equal(chat_options_set(&opts, "node_id", "0"),
	                 CHAT_OPTION_OK);
	assert_int_equal(chat_options_set(&opts, "node_id", "1022"),
	                 CHAT_OPTION_OK);
	assert_int_equal(opts.node_id, 1022);
	/* 1023 is the bridge's own node id. */
	assert_int_equal(chat_options_set(&opts, "node_id", "1023"),
	                 CHAT_OPTION_INVALID);
	assert_int_equal(chat_options_set(&opts, "node_id", "-1"),
	                 CHAT_OPTION_INVALID);
	assert_int_equal(opts.node_id, 1022);
	assert_int_equal(chat_options_set(&opts, "max_envelope_bytes", "256"),
	                 CHAT_OPTION_OK);
	assert_int_equal(chat_options_set(&opts, "max_envelope_bytes", "255"),
	                 CHAT_OPTION_INVALID);
	assert_int_equal(chat_options_set(&opts, "sync_page_max", "0"),
	                 CHAT_OPTION_INVALID);
	assert_int_equal(chat_options_set(&opts, "resend_window_ms", "0"),
	                 CHAT_OPTION_OK);
	assert_int_equal(opts.resend_window_ms, 0);
}

static void test_malformed_numbers_are_rejected(void **state)
{
	static const char *const bad[] = {
	    "", "abc", "12x", "1.5", "0x10", "99999999999999999999999",
	};
	struct chat_options opts;

	(void)state;
	chat_options_defaults(&opts);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chat_options_set(&opts, "max_pending", bad[i]),
		                 CHAT_OPTION_INVALID);
		assert_int_equal(chat_options_set(&opts, "node_id", bad[i]),
		                 CHAT_OPTION_INVALID);
	}
	assert_int_equal(opts.max_pending, 900);
}

static void test_topic_prefix_must_be_a_plain_topic_level(void **state)
{
	static const char *const bad[] = {
	    "",
	    "a/b",
	    "a+",
	    "#",
	    "$chat",
	    "a b",
	    "caf\xc3\xa9",
	    "123456789012345678901234567890123", /* 33 characters */
	};
	struct chat_options opts;

	(void)state;
	chat_options_defaults(&opts);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    chat_options_set(&opts, "topic_prefix", bad[i]),
		    CHAT_OPTION_INVALID);
	assert_string_equal(opts.topic_prefix, "chat");
	assert_int_equal(chat_options_set(&opts, "topic_prefix",
	                                  "12345678901234567890123456789012"),
	                 CHAT_OPTION_OK);
	assert_int_equal(chat_options_set(&opts, "topic_prefix", "my-chat_2"),
	                 CHAT_OPTION_OK);
}

static void test_synchronous_takes_three_levels_only(void **state)
{
	struct chat_options opts;

	(void)state;
	chat_options_defaults(&opts);
	assert_int_equal(chat_options_set(&opts, "synchronous", "off"),
	                 CHAT_OPTION_OK);
	assert_int_equal(chat_options_set(&opts, "synchronous", "extra"),
	                 CHAT_OPTION_INVALID);
	assert_int_equal(chat_options_set(&opts, "synchronous", "FULL"),
	                 CHAT_OPTION_INVALID);
	assert_string_equal(opts.synchronous, "off");
}

static void test_string_options_must_fit(void **state)
{
	char user[66];
	struct chat_options opts;

	(void)state;
	chat_options_defaults(&opts);
	memset(user, 'u', 64);
	user[64] = '\0';
	assert_int_equal(chat_options_set(&opts, "service_user", user),
	                 CHAT_OPTION_OK);
	user[64] = 'u';
	user[65] = '\0';
	assert_int_equal(chat_options_set(&opts, "service_user", user),
	                 CHAT_OPTION_INVALID);
	assert_int_equal(chat_options_set(&opts, "service_client_id", ""),
	                 CHAT_OPTION_INVALID);
	assert_int_equal(chat_options_set(&opts, "no_such_option", "1"),
	                 CHAT_OPTION_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_match_the_documentation),
	    cmocka_unit_test_setup_teardown(
	        test_options_under_the_chat_plugin_line_are_applied, make_conf,
	        remove_conf),
	    cmocka_unit_test_setup_teardown(
	        test_options_outside_the_chat_plugin_are_ignored, make_conf,
	        remove_conf),
	    cmocka_unit_test_setup_teardown(
	        test_comments_blank_lines_and_spacing_are_tolerated, make_conf,
	        remove_conf),
	    cmocka_unit_test_setup_teardown(
	        test_unknown_chat_options_are_ignored, make_conf, remove_conf),
	    cmocka_unit_test_setup_teardown(
	        test_invalid_value_is_rejected_with_its_line, make_conf,
	        remove_conf),
	    cmocka_unit_test_setup_teardown(
	        test_option_without_value_is_rejected, make_conf, remove_conf),
	    cmocka_unit_test_setup_teardown(
	        test_first_listener_gives_port_and_host, make_conf,
	        remove_conf),
	    cmocka_unit_test_setup_teardown(
	        test_listener_without_host_keeps_default_host, make_conf,
	        remove_conf),
	    cmocka_unit_test(test_missing_file_is_an_error),
	    cmocka_unit_test(test_numbers_are_checked_against_their_range),
	    cmocka_unit_test(test_malformed_numbers_are_rejected),
	    cmocka_unit_test(test_topic_prefix_must_be_a_plain_topic_level),
	    cmocka_unit_test(test_synchronous_takes_three_levels_only),
	    cmocka_unit_test(test_string_options_must_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
