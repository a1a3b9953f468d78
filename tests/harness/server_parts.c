/* Starting the broker and the bridge of a test server as child processes. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOSQUITTO_PATH "/usr/sbin/mosquitto"
#define SPAWN_ARGS_MAX 48

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

/*
 * The command line of a part: a wrapper's words (prlimit ...), valgrind's
 * when CHAT_VALGRIND is set, then the part's own. Both wrappers exec what
 * follows in the same process, so the pid is the part's.
 */
static int compose_argv(struct chat_server *srv, const char *part,
                        char *const wrapper[], char *const command[],
                        char *storage, size_t storagelen, char *argv[],
                        size_t max)
{
	size_t n = 0, added;

	for (size_t i = 0; wrapper && wrapper[i]; i++) {
		if (n + 1 >= max)
			return -1;
		argv[n++] = wrapper[i];
	}
	added = test_valgrind_prefix(srv->dir, part, storage, storagelen,
	                             argv + n, max - n);
	if (added == (size_t)-1)
		return -1;
	n += added;
	for (size_t i = 0; command[i]; i++) {
		if (n + 1 >= max)
			return -1;
		argv[n++] = command[i];
	}
	argv[n] = NULL;
	return 0;
}

int chat_server_spawn_broker(struct chat_server *srv)
{
	char *command[] = {MOSQUITTO_PATH, "-c", srv->conf_path, NULL};
	char storage[2 * PATH_MAX + 128], words[2 * PATH_MAX + 512];
	char clock_storage[4 * PATH_MAX + 128];
	char *env[8], *argv[SPAWN_ARGS_MAX];

	if (compose_argv(srv, "broker", NULL, command, words, sizeof(words),
	                 argv, SPAWN_ARGS_MAX) != 0)
		return -1;
	test_sanitizer_broker_env(storage, sizeof(storage), env, 8);
	if (srv->config.fake_wall_clock &&
	    test_fake_clock_env(srv, clock_storage, sizeof(clock_storage), env,
	                        8) != 0)
		return -1;
	mark_log(srv->broker_log, "mosquitto");
	return test_process_spawn(&srv->broker, "mosquitto", argv, env,
	                          srv->broker_log);
}

int chat_server_spawn_bridge_wrapped(struct chat_server *srv,
                                     char *const wrapper[])
{
	char program[PATH_MAX + 16];
	char *command[] = {program, "-c", srv->conf_path, NULL, NULL};
	const char *verbose = getenv("CHAT_TEST_VERBOSE");
	char storage[256], words[2 * PATH_MAX + 512];
	char *env[8], *argv[SPAWN_ARGS_MAX];

	snprintf(program, sizeof(program), "%s/chat-bridge", srv->build_dir);
	if (verbose && verbose[0] && strcmp(verbose, "0") != 0)
		command[3] = "-v";
	if (compose_argv(srv, "bridge", wrapper, command, words,
	                 sizeof(words), argv, SPAWN_ARGS_MAX) != 0)
		return -1;
	test_sanitizer_bridge_env(storage, sizeof(storage), env, 8);
	mark_log(srv->bridge_log, "chat-bridge");
	return test_process_spawn(&srv->bridge, "chat-bridge", argv, env,
	                          srv->bridge_log);
}

int chat_server_spawn_bridge(struct chat_server *srv)
{
	return chat_server_spawn_bridge_wrapped(srv, NULL);
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
