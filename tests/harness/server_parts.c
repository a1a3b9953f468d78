/* Starting the broker and the bridge of a test server as child processes. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOSQUITTO_PATH "/usr/sbin/mosquitto"

/* A line in the log before every start, so restarts are easy to find. */
static void mark_log(const char *path, const char *what)
{
	FILE *f = fopen(path, "a");
	time_t now = time(NULL);
	char stamp[32];

	if (f == NULL)
		return;
	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
	fprintf(f, "==== harness: starting %s at %s\n", what, stamp);
	fclose(f);
}

int chat_server_spawn_broker(struct chat_server *srv)
{
	char *argv[] = {MOSQUITTO_PATH, "-c", srv->conf_path, NULL};
	char storage[2 * PATH_MAX + 128];
	char *env[8];

	test_sanitizer_broker_env(storage, sizeof(storage), env, 8);
	mark_log(srv->broker_log, "mosquitto");
	return test_process_spawn(&srv->broker, "mosquitto", argv, env,
	                          srv->broker_log);
}

int chat_server_spawn_bridge(struct chat_server *srv)
{
	char program[PATH_MAX + 16];
	char *argv[] = {program, "-c", srv->conf_path, NULL, NULL};
	const char *verbose = getenv("CHAT_TEST_VERBOSE");
	char storage[256];
	char *env[8];

	snprintf(program, sizeof(program), "%s/chat-bridge", srv->build_dir);
	if (verbose && verbose[0] && strcmp(verbose, "0") != 0)
		argv[3] = "-v";
	test_sanitizer_bridge_env(storage, sizeof(storage), env, 8);
	mark_log(srv->bridge_log, "chat-bridge");
	return test_process_spawn(&srv->bridge, "chat-bridge", argv, env,
	                          srv->bridge_log);
}

struct test_process *chat_server_spawn_helper(struct chat_server *srv,
                                              const char *name,
                                              char *const argv[],
                                              const char *output_path)
{
	for (int i = 0; i < CHAT_SERVER_MAX_HELPERS; i++) {
		struct test_process *p = &srv->helpers[i];

		if (test_process_alive(p))
			continue;
		if (test_process_spawn(p, name, argv, NULL, output_path) != 0)
			return NULL;
		return p;
	}
	test_log("more than %d helper programs at once",
	         CHAT_SERVER_MAX_HELPERS);
	return NULL;
}
