#include "options.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: chat-load SCENARIO [options]\n"
    "  pairs      1:1 conversations, one sender per pair\n"
    "  group      one conversation, every member subscribed\n"
    "  catchup    a reader drains a backlog\n"
    "  idle       many idle subscribed connections\n"
    "  free-port  print a free TCP port of 127.0.0.1\n"
    "options: --mode product|plain --port N --roster FILE --pairs N\n"
    "  --members N --senders N --inflight N --rate N --body N\n"
    "  --warmup S --window S --backlog N --page N --clients N\n"
    "  --parallel N --turn-us N --broker-pid N --bridge-pid N\n";

static void set_defaults(struct load_options *o)
{
	*o = (struct load_options){
	    .mode = LOAD_PRODUCT,
	    .pairs = 10,
	    .members = 10,
	    .senders = 2,
	    .inflight = 100,
	    .body = 200,
	    .warmup_s = 1,
	    .window_s = 5,
	    .backlog = 100000,
	    .page = 500,
	    .clients = 10000,
	    .parallel = 64,
	};
}

struct int_option {
	const char *name;
	size_t offset;
};

#define INT_OPTION(name, field)                                                \
	{                                                                      \
		name, offsetof(struct load_options, field)                     \
	}

static const struct int_option int_options[] = {
    INT_OPTION("--port", port),
    INT_OPTION("--pairs", pairs),
    INT_OPTION("--members", members),
    INT_OPTION("--senders", senders),
    INT_OPTION("--inflight", inflight),
    INT_OPTION("--rate", rate),
    INT_OPTION("--body", body),
    INT_OPTION("--backlog", backlog),
    INT_OPTION("--page", page),
    INT_OPTION("--clients", clients),
    INT_OPTION("--parallel", parallel),
    INT_OPTION("--turn-us", turn_us),
    INT_OPTION("--broker-pid", broker_pid),
    INT_OPTION("--bridge-pid", bridge_pid),
};

static int set_int(struct load_options *o, const char *name, const char *v)
{
	for (size_t i = 0; i < sizeof(int_options) / sizeof(*int_options);
	     i++) {
		if (strcmp(name, int_options[i].name) == 0) {
			char *end;
			long n = strtol(v, &end, 10);

			if (*end != '\0' || n < 0 || n > 100000000)
				return -1;
			*(int *)((char *)o + int_options[i].offset) = (int)n;
			return 0;
		}
	}
	return 1;
}

static int set_other(struct load_options *o, const char *name, const char *v)
{
	char *end = NULL;

	if (strcmp(name, "--mode") == 0) {
		if (strcmp(v, "product") != 0 && strcmp(v, "plain") != 0)
			return -1;
		o->mode = v[1] == 'r' ? LOAD_PRODUCT : LOAD_PLAIN;
		return 0;
	}
	if (strcmp(name, "--roster") == 0) {
		o->roster = v;
		return 0;
	}
	if (strcmp(name, "--warmup") == 0)
		o->warmup_s = strtod(v, &end);
	else if (strcmp(name, "--window") == 0)
		o->window_s = strtod(v, &end);
	return end && *end == '\0' ? 0 : -1;
}

static int check(const struct load_options *o)
{
	if (strcmp(o->scenario, "free-port") == 0)
		return 0;
	if (o->port <= 0 || (o->mode == LOAD_PRODUCT && o->roster == NULL))
		return -1;
	if (o->inflight < 1 || o->senders < 1 || o->pairs < 1 ||
	    o->members < 1 || o->window_s <= 0 || o->parallel < 1)
		return -1;
	return 0;
}

int load_options_parse(int argc, char **argv, struct load_options *o)
{
	set_defaults(o);
	if (argc < 2)
		goto usage;
	o->scenario = argv[1];
	for (int i = 2; i < argc; i += 2) {
		int rc;

		if (i + 1 >= argc)
			goto usage;
		rc = set_int(o, argv[i], argv[i + 1]);
		if (rc > 0)
			rc = set_other(o, argv[i], argv[i + 1]);
		if (rc != 0)
			goto usage;
	}
	if (check(o) == 0)
		return 0;
usage:
	fputs(usage_text, stderr);
	return -1;
}
