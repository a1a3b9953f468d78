/*
 * The chat accounts and conversations a benchmark run uses, written by
 * bench/setup.sh while it creates them with chatctl and sqlite3:
 *
 *   user u<n> <token>                 a user and a device token
 *   direct <k> <convo> u<a> u<b>      pair k's direct conversation
 *   group <size> <convo>              members u0 .. u<size-1>
 *   backlog <convo> u<writer> u<reader>
 *
 * Users are always named u0, u1, …; their number is their index here.
 */
#ifndef LOAD_ROSTER_H
#define LOAD_ROSTER_H

#define LOAD_CONVO_MAX  65 /* id and NUL */
#define LOAD_PAIRS_MAX  64
#define LOAD_GROUPS_MAX 8

struct load_roster_group {
	int size;
	char convo[LOAD_CONVO_MAX];
};

struct load_roster {
	char **tokens; /* tokens[n] of user u<n>, NULL when absent */
	int user_count;
	char direct[LOAD_PAIRS_MAX][LOAD_CONVO_MAX];
	int direct_count;
	struct load_roster_group groups[LOAD_GROUPS_MAX];
	int group_count;
	char backlog[LOAD_CONVO_MAX];
	int backlog_writer, backlog_reader;
};

/* Reads path. Returns 0, or -1 after printing why. */
int load_roster_read(const char *path, struct load_roster *r);
void load_roster_free(struct load_roster *r);

/* The token of user u<n>, or NULL. */
const char *load_roster_token(const struct load_roster *r, int n);

/* The conversation of the group with `size` members, or NULL. */
const char *load_roster_group(const struct load_roster *r, int size);

#endif
