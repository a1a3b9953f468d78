/*
 * chatctl group: groups and channels. Changes are requests the bridge
 * carries out (admin_request.c), exactly like a member's request on
 * chat/req, so every member sees them as system messages at the same seq;
 * `group members` only reads the store.
 */
#include "chatctl.h"

#include "ids.h"
#include "text.h"

#include <stdio.h>
#include <string.h>

/* Widest role ("admin", "member") and seq column in the members listing. */
#define ROLE_WIDTH 6
#define SEQ_WIDTH  9

static const char *string_field(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* "chatctl: <code>: <message>" from a refusal {"ok":false,"error":{…}}. */
static void report_refusal(const cJSON *response)
{
	const cJSON *error =
	    cJSON_GetObjectItemCaseSensitive(response, "error");
	const char *code = string_field(error, "code");
	const char *message = string_field(error, "message");

	fputs("chatctl: ", stderr);
	chatctl_print_text(stderr, code ? code : "internal");
	fputs(": ", stderr);
	chatctl_print_text(stderr,
	                   message ? message : "refused without a reason");
	fputc('\n', stderr);
}

/* Has the bridge run request as actor. Returns its successful answer
 * (free with cJSON_Delete), or NULL after saying what went wrong. */
static cJSON *run_request(struct chatctl *ctl, const char *actor,
                          const cJSON *request)
{
	cJSON *response = NULL;

	if (request == NULL) {
		chatctl_error("out of memory");
		return NULL;
	}
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_admin_request(ctl, actor, request, &response) != 0)
		return NULL;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(response, "ok")))
		return response;
	report_refusal(response);
	cJSON_Delete(response);
	return NULL;
}

/* A request {"op":op,"convo":convo}; NULL when out of memory. */
static cJSON *new_request(const char *op, const char *convo)
{
	cJSON *request = cJSON_CreateObject();

	if (request == NULL ||
	    cJSON_AddStringToObject(request, "op", op) == NULL ||
	    (convo &&
	     cJSON_AddStringToObject(request, "convo", convo) == NULL)) {
		cJSON_Delete(request);
		return NULL;
	}
	return request;
}

/* Adds users as a JSON array of strings; false when out of memory. */
static bool add_user_list(cJSON *request, const char *key,
                          const char *const users[], int count)
{
	cJSON *list = cJSON_AddArrayToObject(request, key);

	for (int i = 0; list && i < count; i++) {
		cJSON *user = cJSON_CreateString(users[i]);

		if (user == NULL || !cJSON_AddItemToArray(list, user))
			return false;
	}
	return list != NULL;
}

static int require_user_ids(const char *const users[], int count)
{
	for (int i = 0; i < count; i++)
		if (chatctl_require_user_id(users[i]) != 0)
			return -1;
	return 0;
}

/* The actor of a change: --by U, or the all-groups admin. */
static int choose_actor(const struct chatctl_args *args, const char **actor)
{
	*actor = args->by ? args->by : CHATCTL_ADMIN_ACTOR;
	if (strcmp(*actor, CHATCTL_ADMIN_ACTOR) == 0)
		return 0;
	return chatctl_require_user_id(*actor);
}

static int require_title(const char *title)
{
	if (title[0] != '\0' && chat_utf8_valid(title, strlen(title)))
		return 0;
	chatctl_error("invalid title: it must be non-empty UTF-8 text");
	return -1;
}

/* " (seq N)" when the answer names the system message's seq. */
static void print_seq(const cJSON *response)
{
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(response, "seq");

	if (cJSON_IsNumber(seq))
		printf(" (seq %.0f)", seq->valuedouble);
}

/* {"op":"create_group","title":…,"members":[…]} and "channel":true for a
 * channel; NULL when out of memory. */
static cJSON *creation_request(const struct chatctl_args *args)
{
	cJSON *request = new_request("create_group", NULL);

	if (request &&
	    cJSON_AddStringToObject(request, "title", args->positional[0]) &&
	    add_user_list(request, "members", args->members,
	                  args->member_count) &&
	    (!args->channel || cJSON_AddTrueToObject(request, "channel")))
		return request;
	cJSON_Delete(request);
	return NULL;
}

/* The new conversation's id alone on stdout, for CONVO=$(chatctl ...). */
static int report_creation(const struct chatctl_args *args,
                           const cJSON *response)
{
	const char *convo = string_field(response, "convo");

	if (convo == NULL) {
		chatctl_error("the bridge's answer names no conversation");
		return CHATCTL_FAILED;
	}
	printf("%s\n", convo);
	fprintf(stderr, "created the %s ", args->channel ? "channel" : "group");
	chatctl_print_text(stderr, args->positional[0]);
	fprintf(stderr, " of %s with %d other member%s\n", args->owner,
	        args->member_count, args->member_count == 1 ? "" : "s");
	return CHATCTL_OK;
}

static int group_create(struct chatctl *ctl, int argc, char **argv)
{
	static const char synopsis[] =
	    "group create <title> --owner U [--member U]... [--channel]";
	unsigned flags =
	    CHATCTL_FLAG_OWNER | CHATCTL_FLAG_MEMBER | CHATCTL_FLAG_CHANNEL;
	struct chatctl_args args;
	cJSON *request, *response;
	int rc;

	if (chatctl_args_parse(argc, argv, flags, 1, &args) != 0) {
		chatctl_usage_of(synopsis);
		return CHATCTL_USAGE;
	}
	if (args.owner == NULL) {
		chatctl_error("a group needs an owner: --owner U");
		chatctl_usage_of(synopsis);
		return CHATCTL_USAGE;
	}
	if (require_title(args.positional[0]) != 0 ||
	    chatctl_require_user_id(args.owner) != 0 ||
	    require_user_ids(args.members, args.member_count) != 0)
		return CHATCTL_FAILED;
	request = creation_request(&args);
	response = run_request(ctl, args.owner, request);
	cJSON_Delete(request);
	if (response == NULL)
		return CHATCTL_FAILED;
	rc = report_creation(&args, response);
	cJSON_Delete(response);
	return rc;
}

/* "added carol, dave (seq 7)", or "added nobody (why)". */
static void print_user_change(const cJSON *response, const char *key,
                              const char *none)
{
	const cJSON *users = cJSON_GetObjectItemCaseSensitive(response, key);
	const cJSON *user;
	const char *separator = " ";

	printf("%s", key);
	cJSON_ArrayForEach(user, users)
	{
		if (!cJSON_IsString(user))
			continue;
		printf("%s", separator);
		chatctl_print_text(stdout, user->valuestring);
		separator = ", ";
	}
	if (separator[0] == ' ')
		printf(" nobody (%s)", none);
	print_seq(response);
	putchar('\n');
}

/* add and remove: the same shape, a conversation and users. */
struct member_change {
	const char *op;   /* "add_members" */
	const char *key;  /* the answer's list: "added" */
	const char *none; /* why the list can be empty */
	const char *synopsis;
};

static int change_members(struct chatctl *ctl, int argc, char **argv,
                          const struct member_change *change)
{
	struct chatctl_args args;
	cJSON *request, *response;
	const char *actor;

	if (chatctl_args_parse_range(argc, argv, CHATCTL_FLAG_BY, 2,
	                             CHATCTL_POSITIONAL_MAX, &args) != 0) {
		chatctl_usage_of(change->synopsis);
		return CHATCTL_USAGE;
	}
	if (chatctl_require_convo_id(args.positional[0]) != 0 ||
	    require_user_ids(args.positional + 1, args.count - 1) != 0 ||
	    choose_actor(&args, &actor) != 0)
		return CHATCTL_FAILED;
	request = new_request(change->op, args.positional[0]);
	if (request && !add_user_list(request, "users", args.positional + 1,
	                              args.count - 1)) {
		cJSON_Delete(request);
		request = NULL;
	}
	response = run_request(ctl, actor, request);
	cJSON_Delete(request);
	if (response == NULL)
		return CHATCTL_FAILED;
	print_user_change(response, change->key, change->none);
	cJSON_Delete(response);
	return CHATCTL_OK;
}

static int group_add(struct chatctl *ctl, int argc, char **argv)
{
	static const struct member_change add = {
	    "add_members", "added", "all of them are members already",
	    "group add <convo> <user>... [--by U]"};

	return change_members(ctl, argc, argv, &add);
}

static int group_remove(struct chatctl *ctl, int argc, char **argv)
{
	static const struct member_change remove = {
	    "remove_members", "removed", "none of them is a member",
	    "group remove <convo> <user>... [--by U]"};

	return change_members(ctl, argc, argv, &remove);
}

static int group_rename(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	cJSON *request, *response;
	const char *actor, *convo, *title;

	if (chatctl_args_parse(argc, argv, CHATCTL_FLAG_BY, 2, &args) != 0) {
		chatctl_usage_of("group rename <convo> <title> [--by U]");
		return CHATCTL_USAGE;
	}
	convo = args.positional[0];
	title = args.positional[1];
	if (chatctl_require_convo_id(convo) != 0 || require_title(title) != 0 ||
	    choose_actor(&args, &actor) != 0)
		return CHATCTL_FAILED;
	request = new_request("rename", convo);
	if (request && !cJSON_AddStringToObject(request, "title", title)) {
		cJSON_Delete(request);
		request = NULL;
	}
	response = run_request(ctl, actor, request);
	cJSON_Delete(request);
	if (response == NULL)
		return CHATCTL_FAILED;
	printf("renamed %s to ", convo);
	chatctl_print_text(stdout, title);
	print_seq(response);
	putchar('\n');
	cJSON_Delete(response);
	return CHATCTL_OK;
}

static int group_role(struct chatctl *ctl, int argc, char **argv)
{
	static const char synopsis[] =
	    "group role <convo> <user> admin|member [--by U]";
	struct chatctl_args args;
	cJSON *request, *response;
	const char *actor, *convo, *user, *role;

	if (chatctl_args_parse(argc, argv, CHATCTL_FLAG_BY, 3, &args) != 0) {
		chatctl_usage_of(synopsis);
		return CHATCTL_USAGE;
	}
	convo = args.positional[0];
	user = args.positional[1];
	role = args.positional[2];
	if (strcmp(role, "admin") != 0 && strcmp(role, "member") != 0) {
		chatctl_error("the role is admin or member");
		chatctl_usage_of(synopsis);
		return CHATCTL_USAGE;
	}
	if (chatctl_require_convo_id(convo) != 0 ||
	    chatctl_require_user_id(user) != 0 ||
	    choose_actor(&args, &actor) != 0)
		return CHATCTL_FAILED;
	request = new_request("set_role", convo);
	if (request && (!cJSON_AddStringToObject(request, "user", user) ||
	                !cJSON_AddStringToObject(request, "role", role))) {
		cJSON_Delete(request);
		request = NULL;
	}
	response = run_request(ctl, actor, request);
	cJSON_Delete(request);
	if (response == NULL)
		return CHATCTL_FAILED;
	printf("%s is now %s of %s", user, role, convo);
	print_seq(response);
	putchar('\n');
	cJSON_Delete(response);
	return CHATCTL_OK;
}

/* Writes the conversation's kind into kind, or "" when there is none. */
static int convo_kind(struct chatctl *ctl, const char *convo, char *kind,
                      size_t kindlen)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT kind FROM conversations WHERE id = ?");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	kind[0] = '\0';
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(kind, kindlen, "%s",
		         (const char *)sqlite3_column_text(stmt, 0));
	else if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "looking up the conversation");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int member_width(struct chatctl *ctl, const char *convo, int *width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT COALESCE(MAX(length(user_id)), 0) FROM members "
	         "WHERE convo_id = ?");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*width = sqlite3_column_int(stmt, 0);
	else
		chatctl_store_failed(ctl, "listing members");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* A seq column: the number, or "-" for NULL or what a channel lacks. The
 * last column is not padded. */
static void print_seq_column(sqlite3_stmt *stmt, int col, bool shown, bool last)
{
	int width = last ? 0 : SEQ_WIDTH;

	if (shown && sqlite3_column_type(stmt, col) != SQLITE_NULL)
		printf("%-*lld", width, sqlite3_column_int64(stmt, col));
	else
		printf("%-*s", width, "-");
	putchar(last ? '\n' : ' ');
}

/* Current members first, in the order they joined, then former ones.
 * Channels keep no per-member cursors. */
static int print_members(struct chatctl *ctl, const char *convo, bool cursors,
                         int width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT user_id, role, joined_seq, left_seq, delivered_seq, "
	         "read_seq FROM members WHERE convo_id = ? "
	         "ORDER BY left_seq IS NOT NULL, left_seq, joined_seq, "
	         "user_id");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	printf("%-*s %-*s %-*s %-*s %-*s %s\n", width, "USER", ROLE_WIDTH,
	       "ROLE", SEQ_WIDTH, "JOINED", SEQ_WIDTH, "LEFT", SEQ_WIDTH,
	       "DELIVERED", "READ");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		printf("%-*s %-*s ", width,
		       (const char *)sqlite3_column_text(stmt, 0), ROLE_WIDTH,
		       (const char *)sqlite3_column_text(stmt, 1));
		print_seq_column(stmt, 2, true, false);
		print_seq_column(stmt, 3, true, false);
		print_seq_column(stmt, 4, cursors, false);
		print_seq_column(stmt, 5, cursors, true);
	}
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "listing members");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int members_in_snapshot(struct chatctl *ctl, const char *convo)
{
	char kind[CHATCTL_KIND_MAX];
	int width = 0;

	if (convo_kind(ctl, convo, kind, sizeof(kind)) != 0)
		return -1;
	if (kind[0] == '\0') {
		chatctl_error("no conversation %s", convo);
		return -1;
	}
	if (member_width(ctl, convo, &width) != 0)
		return -1;
	return print_members(ctl, convo, strcmp(kind, "channel") != 0,
	                     width < 4 ? 4 : width);
}

static int group_members(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	int rc = CHATCTL_FAILED;

	if (chatctl_args_parse(argc, argv, 0, 1, &args) != 0) {
		chatctl_usage_of("group members <convo>");
		return CHATCTL_USAGE;
	}
	if (chatctl_require_convo_id(args.positional[0]) != 0)
		return CHATCTL_FAILED;
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, false) != 0)
		return CHATCTL_FAILED;
	if (members_in_snapshot(ctl, args.positional[0]) == 0)
		rc = CHATCTL_OK;
	chatctl_store_rollback(ctl); /* a read snapshot: nothing to keep */
	return rc;
}

int chatctl_group_command(struct chatctl *ctl, int argc, char **argv)
{
	static const struct {
		const char *verb;
		chatctl_command_fn run;
	} verbs[] = {
	    {"create", group_create}, {"add", group_add},
	    {"remove", group_remove}, {"rename", group_rename},
	    {"role", group_role},     {"members", group_members},
	};
	const char *verb = argc > 0 ? argv[0] : "";

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verb, verbs[i].verb) == 0)
			return verbs[i].run(ctl, argc - 1, argv + 1);
	chatctl_usage();
	return CHATCTL_USAGE;
}
