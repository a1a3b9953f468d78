/*
 * chat-load: the load generator behind `make bench`. One process, one
 * thread, one epoll loop over raw MQTT connections, so that it costs the
 * processes under test as little CPU as possible. bench/run.sh starts the
 * servers and calls it once per measurement; see docs/PERFORMANCE.md.
 */
#include "options.h"
#include "roster.h"
#include "scenarios.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Prints a TCP port of 127.0.0.1 that was free a moment ago. */
static int print_free_port(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		perror("chat-load: free port");
		return LOAD_RUN_ERROR;
	}
	printf("%d\n", ntohs(addr.sin_port));
	close(fd);
	return LOAD_RUN_OK;
}

static int run(const struct load_options *o, const struct load_roster *r)
{
	if (strcmp(o->scenario, "pairs") == 0 ||
	    strcmp(o->scenario, "group") == 0)
		return load_run_traffic(o, r);
	if (strcmp(o->scenario, "catchup") == 0)
		return load_run_catchup(o, r);
	if (strcmp(o->scenario, "idle") == 0)
		return load_run_idle(o, r);
	fprintf(stderr, "chat-load: unknown scenario %s\n", o->scenario);
	return LOAD_RUN_ERROR;
}

int main(int argc, char **argv)
{
	struct load_options o;
	struct load_roster roster = {0};
	int rc;

	if (load_options_parse(argc, argv, &o) != 0)
		return LOAD_RUN_ERROR;
	if (strcmp(o.scenario, "free-port") == 0)
		return print_free_port();
	signal(SIGPIPE, SIG_IGN);
	if (o.mode == LOAD_PRODUCT && load_roster_read(o.roster, &roster) != 0)
		return LOAD_RUN_ERROR;
	rc = run(&o, &roster);
	load_roster_free(&roster);
	return rc;
}
