#include "roster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROSTER_LINE_MAX 512

static int user_number(const char *name)
{
	char *end;
	long n;

	if (name[0] != 'u')
		return -1;
	n = strtol(name + 1, &end, 10);
	return *end == '\0' && n >= 0 && n < 1000000 ? (int)n : -1;
}

static int add_user(struct load_roster *r, const char *name, const char *token)
{
	int n = user_number(name);

	if (n < 0)
		return -1;
	if (n >= r->user_count) {
		char **grown =
		    realloc(r->tokens, (size_t)(n + 1) * sizeof(*grown));

		if (grown == NULL)
			return -1;
		memset(grown + r->user_count, 0,
		       (size_t)(n + 1 - r->user_count) * sizeof(*grown));
		r->tokens = grown;
		r->user_count = n + 1;
	}
	free(r->tokens[n]);
	r->tokens[n] = strdup(token);
	return r->tokens[n] ? 0 : -1;
}

static int add_direct(struct load_roster *r, int k, const char *convo)
{
	if (k < 0 || k >= LOAD_PAIRS_MAX)
		return -1;
	snprintf(r->direct[k], LOAD_CONVO_MAX, "%s", convo);
	if (k >= r->direct_count)
		r->direct_count = k + 1;
	return 0;
}

static int add_group(struct load_roster *r, int size, const char *convo)
{
	struct load_roster_group *g;

	if (r->group_count == LOAD_GROUPS_MAX)
		return -1;
	g = &r->groups[r->group_count++];
	g->size = size;
	snprintf(g->convo, LOAD_CONVO_MAX, "%s", convo);
	return 0;
}

static int take_line(struct load_roster *r, const char *line)
{
	char kind[16], a[LOAD_CONVO_MAX], c[128];
	int n = 0;

	if (sscanf(line, "%15s", kind) != 1)
		return 0;
	if (strcmp(kind, "user") == 0 &&
	    sscanf(line, "user %64s %127s", a, c) == 2)
		return add_user(r, a, c);
	if (strcmp(kind, "direct") == 0 &&
	    sscanf(line, "direct %d %64s", &n, a) == 2)
		return add_direct(r, n, a);
	if (strcmp(kind, "group") == 0 &&
	    sscanf(line, "group %d %64s", &n, a) == 2)
		return add_group(r, n, a);
	if (strcmp(kind, "backlog") == 0 &&
	    sscanf(line, "backlog %64s %64s %127s", r->backlog, a, c) == 3) {
		r->backlog_writer = user_number(a);
		r->backlog_reader = user_number(c);
		return 0;
	}
	return -1;
}

int load_roster_read(const char *path, struct load_roster *r)
{
	char line[ROSTER_LINE_MAX];
	int number = 0, rc = 0;
	FILE *f = fopen(path, "r");

	*r = (struct load_roster){0};
	if (f == NULL) {
		fprintf(stderr, "chat-load: cannot read %s\n", path);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		number++;
		rc = take_line(r, line);
	}
	fclose(f);
	if (rc != 0)
		fprintf(stderr, "chat-load: %s:%d: not a roster line\n", path,
		        number);
	return rc;
}

void load_roster_free(struct load_roster *r)
{
	for (int i = 0; i < r->user_count; i++)
		free(r->tokens[i]);
	free(r->tokens);
	*r = (struct load_roster){0};
}

const char *load_roster_token(const struct load_roster *r, int n)
{
	return n >= 0 && n < r->user_count ? r->tokens[n] : NULL;
}

const char *load_roster_group(const struct load_roster *r, int size)
{
	for (int i = 0; i < r->group_count; i++)
		if (r->groups[i].size == size)
			return r->groups[i].convo;
	return NULL;
}
