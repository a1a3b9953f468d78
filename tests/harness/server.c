/*
 * The life of a test server: folder, configuration, `chatctl init`, broker
 * on a free port, bridge, readiness; kill -9 and restart of either part;
 * stop with log checks, removing the folder only when the test passed.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READY_TIMEOUT_MS  10000
#define LISTEN_TIMEOUT_MS 5000
#define PORT_ATTEMPTS     5
#define LOG_TAIL_LINES    40

static int copy_config(struct chat_server *srv,
                       const struct chat_server_config *cfg)
{
	if (cfg == NULL)
		return 0;
	srv->config.persistence = cfg->persistence;
	srv->config.fake_wall_clock = cfg->fake_wall_clock;
	for (int i = 0; i < CHAT_SERVER_MAX_LINES; i++) {
		if (cfg->broker_lines[i] && !(srv->config.broker_lines[i] =
		                                  strdup(cfg->broker_lines[i])))
			return -1;
		if (cfg->plugin_options[i] &&
		    !(srv->config.plugin_options[i] =
		          strdup(cfg->plugin_options[i])))
			return -1;
	}
	return 0;
}

static void free_server(struct chat_server *srv)
{
	for (int i = 0; i < CHAT_SERVER_MAX_LINES; i++) {
		free((char *)srv->config.broker_lines[i]);
		free((char *)srv->config.plugin_options[i]);
	}
	free(srv);
}

static bool part_built(const char *build_dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", build_dir, name);
	if (access(path, R_OK) == 0)
		return true;
	test_log("%s is not built", path);
	return false;
}

/* Absolute build folder and paths into a new temporary folder. */
static int prepare_paths(struct chat_server *srv)
{
	const char *build = getenv("CHAT_BUILD_DIR");

	if (realpath(build && build[0] ? build : "build", srv->build_dir) ==
	    NULL) {
		test_log("build folder %s not found", build ? build : "build");
		return -1;
	}
	if (!part_built(srv->build_dir, "chat_plugin.so") ||
	    !part_built(srv->build_dir, "chat-bridge") ||
	    !part_built(srv->build_dir, "chatctl"))
		return -1;
	if (test_make_temp_dir("server", srv->dir, sizeof(srv->dir)) != 0)
		return -1;
	snprintf(srv->conf_path, sizeof(srv->conf_path), "%s/mosquitto.conf",
	         srv->dir);
	snprintf(srv->db_path, sizeof(srv->db_path), "%s/chat.db", srv->dir);
	snprintf(srv->broker_log, sizeof(srv->broker_log), "%s/broker.log",
	         srv->dir);
	snprintf(srv->bridge_log, sizeof(srv->bridge_log), "%s/bridge.log",
	         srv->dir);
	return 0;
}

static bool port_accepts(int port)
{
	struct sockaddr_in addr = {0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)port);
	ok =
	    fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* 0 once the broker listens; 1 when it exited because the port was taken;
 * -1 on any other failure. */
static int wait_listening(struct chat_server *srv)
{
	static const char *const clash[] = {"Address already in use", NULL};
	long long deadline = test_now_ms() + test_timeout_ms(LISTEN_TIMEOUT_MS);
	char line[512];

	while (test_now_ms() < deadline) {
		if (!test_process_alive(&srv->broker)) {
			if (test_file_find_line(srv->broker_log, clash, line,
			                        sizeof(line)))
				return 1;
			test_log("mosquitto exited at start (wait status %d)",
			         srv->broker.status);
			return -1;
		}
		if (port_accepts(srv->port))
			return 0;
		test_sleep_ms(20);
	}
	test_log("mosquitto does not listen on port %d", srv->port);
	return -1;
}

/* Starts the broker on the chosen port, on another one after a clash. */
static int start_broker_on_free_port(struct chat_server *srv)
{
	for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
		int rc;

		if (attempt > 0) {
			test_log("port %d was taken; trying another",
			         srv->port);
			srv->port = test_free_port();
			if (srv->port < 0 || chat_server_write_config(srv) != 0)
				return -1;
		}
		if (chat_server_spawn_broker(srv) != 0)
			return -1;
		rc = wait_listening(srv);
		if (rc <= 0)
			return rc;
	}
	return -1;
}

static int initialise_store(struct chat_server *srv)
{
	char out[512];

	if (chat_server_ctl(srv, out, sizeof(out), "init", NULL) != 0)
		return -1;
	return chat_server_add_user(srv, "probe", srv->probe_token);
}

static void print_diagnostics(const struct chat_server *srv)
{
	fprintf(stderr, "harness: server folder kept: %s\n", srv->dir);
	test_print_tail("broker", srv->broker_log, LOG_TAIL_LINES);
	test_print_tail("bridge", srv->bridge_log, LOG_TAIL_LINES);
}

struct chat_server *chat_server_start(const struct chat_server_config *cfg)
{
	struct chat_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL || copy_config(srv, cfg) != 0 ||
	    prepare_paths(srv) != 0) {
		if (srv)
			free_server(srv);
		return NULL;
	}
	srv->port = test_free_port();
	if (srv->port > 0 && chat_server_write_config(srv) == 0 &&
	    initialise_store(srv) == 0 && start_broker_on_free_port(srv) == 0 &&
	    chat_server_spawn_bridge(srv) == 0 &&
	    chat_server_wait_ready(srv, test_timeout_ms(READY_TIMEOUT_MS)) == 0)
		return srv;
	test_log("test server did not start");
	chat_server_stop(srv, false, NULL, 0);
	return NULL;
}

void chat_server_kill_broker(struct chat_server *srv)
{
	test_process_kill(&srv->broker);
}

void chat_server_kill_bridge(struct chat_server *srv)
{
	test_process_kill(&srv->bridge);
}

int chat_server_stop_broker(struct chat_server *srv)
{
	return test_process_stop(&srv->broker);
}

int chat_server_stop_bridge(struct chat_server *srv)
{
	return test_process_stop(&srv->bridge);
}

int chat_server_start_broker(struct chat_server *srv)
{
	if (chat_server_spawn_broker(srv) != 0 || wait_listening(srv) != 0)
		return -1;
	return chat_server_wait_ready(srv, test_timeout_ms(READY_TIMEOUT_MS));
}

int chat_server_start_bridge(struct chat_server *srv)
{
	if (chat_server_spawn_bridge(srv) != 0)
		return -1;
	return chat_server_wait_ready(srv, test_timeout_ms(READY_TIMEOUT_MS));
}

/* Looks for sanitizer reports; the bridge is ours, so leaks count too. */
static int check_logs(struct chat_server *srv, char *problem, size_t problemlen)
{
	char line[1024];

	if (test_sanitizer_report(srv->bridge_log, true, line, sizeof(line))) {
		snprintf(problem, problemlen, "bridge log: %s", line);
		return -1;
	}
	if (test_sanitizer_report(srv->broker_log, false, line, sizeof(line))) {
		snprintf(problem, problemlen, "broker log: %s", line);
		return -1;
	}
	if (test_valgrind_report(srv->dir, line, sizeof(line))) {
		snprintf(problem, problemlen, "valgrind: %s", line);
		return -1;
	}
	return 0;
}

int chat_server_stop(struct chat_server *srv, bool passed, char *problem,
                     size_t problemlen)
{
	char scratch[1100];
	int rc;

	if (problem == NULL) {
		problem = scratch;
		problemlen = sizeof(scratch);
	}
	problem[0] = '\0';
	for (int i = CHAT_SERVER_MAX_CLIENTS - 1; i >= 0; i--) {
		if (srv->clients[i])
			test_client_close(srv->clients[i]);
	}
	for (int i = 0; i < CHAT_SERVER_MAX_FLEETS; i++)
		test_fleet_free(srv->fleets[i]);
	for (int i = 0; i < CHAT_SERVER_MAX_HELPERS; i++)
		test_process_kill(&srv->helpers[i]);
	test_process_stop(&srv->bridge);
	test_process_stop(&srv->broker);
	rc = check_logs(srv, problem, problemlen);
	test_valgrind_keep_reports(srv->dir);
	if (rc != 0)
		test_log("sanitizer report in %s: %s", srv->dir, problem);
	if (passed && rc == 0)
		test_remove_tree(srv->dir);
	else
		print_diagnostics(srv);
	free_server(srv);
	return rc;
}
