/*
 * The mosquitto.conf of a test server: the repository's mosquitto.conf with
 * the current user, a free port, absolute paths into the server's folder and
 * the test's own lines. The broker, the plugin, the bridge and chatctl all
 * read this one file, as in production.
 */
#include "harness.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Writes `line`, or the test's line with the same first word instead. */
static void put_line(FILE *f, const char *prefix, const char *line,
                     const char *const overrides[], bool used[])
{
	size_t keylen = strcspn(line, " \t");

	for (int i = 0; i < CHAT_SERVER_MAX_LINES && overrides[i]; i++) {
		if (strncmp(overrides[i], line, keylen) == 0 &&
		    (overrides[i][keylen] == ' ' ||
		     overrides[i][keylen] == '\t')) {
			if (!used[i])
				fprintf(f, "%s%s\n", prefix, overrides[i]);
			used[i] = true;
			return;
		}
	}
	fprintf(f, "%s%s\n", prefix, line);
}

static void put_unused(FILE *f, const char *prefix,
                       const char *const overrides[], const bool used[])
{
	for (int i = 0; i < CHAT_SERVER_MAX_LINES && overrides[i]; i++) {
		if (!used[i])
			fprintf(f, "%s%s\n", prefix, overrides[i]);
	}
}

static void write_broker_part(FILE *f, const struct chat_server *srv)
{
	const char *const *extra = srv->config.broker_lines;
	bool used[CHAT_SERVER_MAX_LINES] = {false};
	struct passwd *pw = getpwuid(geteuid());
	char line[PATH_MAX + 64];

	snprintf(line, sizeof(line), "user %s", pw ? pw->pw_name : "root");
	put_line(f, "", line, extra, used);
	put_line(f, "", "per_listener_settings false", extra, used);
	put_line(f, "", "set_tcp_nodelay true", extra, used);
	put_line(f, "", "allow_anonymous false", extra, used);
	snprintf(line, sizeof(line), "listener %d 127.0.0.1", srv->port);
	put_line(f, "", line, extra, used);
	put_line(f, "",
	         srv->config.persistence ? "persistence true"
	                                 : "persistence false",
	         extra, used);
	snprintf(line, sizeof(line), "persistence_location %s/", srv->dir);
	put_line(f, "", line, extra, used);
	put_line(f, "", "autosave_interval 300", extra, used);
	put_line(f, "", "max_queued_messages 1000", extra, used);
	put_line(f, "", "max_queued_bytes 16777216", extra, used);
	put_line(f, "", "max_inflight_messages 20", extra, used);
	put_line(f, "", "message_size_limit 1048576", extra, used);
	put_line(f, "", "max_packet_size 1100000", extra, used);
	/* The broker's stderr goes to broker.log, with sanitizer reports. */
	fprintf(f, "log_dest stderr\nlog_type error\nlog_type warning\n"
	           "log_type notice\nlog_type information\n");
	put_line(f, "", "connection_messages false", extra, used);
	put_unused(f, "", extra, used);
}

static void write_plugin_part(FILE *f, const struct chat_server *srv)
{
	const char *const *extra = srv->config.plugin_options;
	bool used[CHAT_SERVER_MAX_LINES] = {false};
	char line[PATH_MAX + 64];

	fprintf(f, "\nplugin %s/chat_plugin.so\n", srv->build_dir);
	snprintf(line, sizeof(line), "database %s", srv->db_path);
	put_line(f, "plugin_opt_", line, extra, used);
	snprintf(line, sizeof(line), "service_token_file %s/bridge.token",
	         srv->dir);
	put_line(f, "plugin_opt_", line, extra, used);
	put_line(f, "plugin_opt_", "topic_prefix " TEST_PREFIX, extra, used);
	put_line(f, "plugin_opt_", "node_id 1", extra, used);
	/* Streams of hundreds of messages a second from one user: the rate
	 * limits have tests of their own, which set them low. */
	put_line(f, "plugin_opt_", "user_send_rate 1000000", extra, used);
	put_line(f, "plugin_opt_", "user_send_burst 1000000", extra, used);
	put_line(f, "plugin_opt_", "user_request_rate 1000000", extra, used);
	put_line(f, "plugin_opt_", "user_request_burst 1000000", extra, used);
	put_line(f, "plugin_opt_", "user_group_create_burst 1000000", extra,
	         used);
	put_line(f, "plugin_opt_", "max_subscriptions_per_connection 65535",
	         extra, used);
	/* Every test client connects from 127.0.0.1, and many tests try
	 * wrong tokens on purpose. */
	put_line(f, "plugin_opt_", "auth_free_failures_per_user 1000000", extra,
	         used);
	put_line(f, "plugin_opt_", "auth_free_failures_per_address 1000000",
	         extra, used);
	put_unused(f, "plugin_opt_", extra, used);
}

int chat_server_write_config(struct chat_server *srv)
{
	FILE *f = fopen(srv->conf_path, "w");

	if (f == NULL) {
		test_log("cannot write %s", srv->conf_path);
		return -1;
	}
	fprintf(f, "# One integration test server; mirrors the repository's "
	           "mosquitto.conf.\n");
	write_broker_part(f, srv);
	write_plugin_part(f, srv);
	return fclose(f) == 0 ? 0 : -1;
}
