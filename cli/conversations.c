#include "chatctl.h"

#include "db.h"
#include "ids.h"

#include <stdio.h>
#include <string.h>

/* New ids are "c_" and 24 hex digits; existing ones may be up to 64. */
#define CONVO_ID_SIZE (CHAT_ID_MAX + 1)
/* Two user ids and the '/' between them. */
#define DIRECT_KEY_SIZE (2 * CHAT_ID_MAX + 2)

/* Writes the pair's existing conversation id into id, or "" when none. */
static int find_direct(struct chatctl *ctl, const char *key, char *id)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT id FROM conversations WHERE direct_key = ?");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	id[0] = '\0';
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(id, CONVO_ID_SIZE, "%s",
		         (const char *)sqlite3_column_text(stmt, 0));
	else if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "looking up the conversation");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int insert_conversation(struct chatctl *ctl, const char *id,
                               const char *key)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "INSERT INTO conversations (id, kind, direct_key, "
	         "created_at) VALUES (?, 'direct', ?, ?)");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, chat_now_ms());
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "storing the conversation");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_member(struct chatctl *ctl, const char *convo,
                         const char *user)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "INSERT INTO members (convo_id, user_id, joined_seq) "
	         "VALUES (?, ?, 0)");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "storing a member");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Inside one write transaction: both users must be chat users, and the
 * pair gets its conversation only if it has none yet, so two concurrent
 * calls still end with one conversation. Sets *created.
 */
static int ensure_direct(struct chatctl *ctl, const char *first,
                         const char *second, char id[CONVO_ID_SIZE],
                         bool *created)
{
	char key[DIRECT_KEY_SIZE];

	snprintf(key, sizeof(key), "%s/%s", first, second);
	*created = false;
	if (chatctl_store_require_chat_user(ctl, first) != 0 ||
	    chatctl_store_require_chat_user(ctl, second) != 0 ||
	    find_direct(ctl, key, id) != 0)
		return -1;
	if (id[0] != '\0')
		return 0;
	chat_random_id("c_", id, CONVO_ID_SIZE);
	if (insert_conversation(ctl, id, key) != 0 ||
	    insert_member(ctl, id, first) != 0 ||
	    insert_member(ctl, id, second) != 0)
		return -1;
	*created = true;
	return 0;
}

static int convo_direct(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	char id[CONVO_ID_SIZE];
	const char *first, *second;
	bool created = false;

	if (chatctl_args_parse(argc, argv, 0, 2, &args) != 0) {
		chatctl_usage_of("convo direct <user-a> <user-b>");
		return CHATCTL_USAGE;
	}
	if (chatctl_require_user_id(args.positional[0]) != 0 ||
	    chatctl_require_user_id(args.positional[1]) != 0)
		return CHATCTL_FAILED;
	if (strcmp(args.positional[0], args.positional[1]) == 0) {
		chatctl_error(
		    "a direct conversation needs two different users");
		return CHATCTL_FAILED;
	}
	/* The key sorts the pair, so "a b" and "b a" are the same pair. */
	first = args.positional[0];
	second = args.positional[1];
	if (strcmp(first, second) > 0) {
		first = args.positional[1];
		second = args.positional[0];
	}
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, true) != 0)
		return CHATCTL_FAILED;
	if (ensure_direct(ctl, first, second, id, &created) != 0 ||
	    chatctl_store_commit(ctl) != 0) {
		chatctl_store_rollback(ctl);
		return CHATCTL_FAILED;
	}
	printf("%s\n", id);
	fprintf(stderr, "%s direct conversation of %s and %s\n",
	        created ? "created the" : "already exists: the", first, second);
	return CHATCTL_OK;
}

/* The conversations listed: all, or those the user is a member of now. */
#define LISTED_CONVOS                                                          \
	"FROM conversations c WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM "      \
	"members m WHERE m.convo_id = c.id AND m.user_id = ?1 "                \
	"AND m.left_seq IS NULL) "

/* Widest conversation id in the listing, for aligned columns. */
static int convo_id_width(struct chatctl *ctl, const char *user, int *width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT COALESCE(MAX(length(c.id)), 0) " LISTED_CONVOS);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*width = sqlite3_column_int(stmt, 0);
	else
		chatctl_store_failed(ctl, "listing conversations");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

static void print_convo(sqlite3_stmt *stmt, int width)
{
	const char *name = (const char *)sqlite3_column_text(stmt, 5);

	printf("%-*s %-7s %-9s %-8lld %-7lld ", width,
	       (const char *)sqlite3_column_text(stmt, 0),
	       (const char *)sqlite3_column_text(stmt, 1),
	       sqlite3_column_int(stmt, 2) ? "broadcast" : "inbox",
	       sqlite3_column_int64(stmt, 3), sqlite3_column_int64(stmt, 4));
	chatctl_print_text(stdout, name ? name : "-");
	putchar('\n');
}

/*
 * MEMBERS counts the current members; NAME is a group's or channel's
 * title, or the pair of a direct conversation. Names come last: they have
 * no useful width to align to. MODE says how messages go out: to every
 * member's inbox, or once on the conversation's broadcast topic.
 */
static int print_convos(struct chatctl *ctl, const char *user, int width)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl,
	    "SELECT c.id, c.kind, c.broadcast, "
	    "(SELECT COALESCE(MAX(seq), 0) FROM messages "
	    "WHERE convo_id = c.id), "
	    "(SELECT COUNT(*) FROM members WHERE convo_id = c.id "
	    "AND left_seq IS NULL), "
	    "CASE WHEN c.kind = 'direct' THEN "
	    "(SELECT group_concat(user_id, ',') FROM (SELECT user_id "
	    "FROM members WHERE convo_id = c.id ORDER BY user_id)) "
	    "ELSE c.title END " LISTED_CONVOS "ORDER BY c.created_at, c.id");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	printf("%-*s %-7s %-9s %-8s %-7s %s\n", width, "CONVO", "KIND", "MODE",
	       "HEAD", "MEMBERS", "NAME");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		print_convo(stmt, width);
	if (rc != SQLITE_DONE)
		chatctl_store_failed(ctl, "listing conversations");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int list_in_snapshot(struct chatctl *ctl, const char *user)
{
	int width = 0;

	if (user != NULL && chatctl_store_require_user(ctl, user) != 0)
		return -1;
	if (convo_id_width(ctl, user, &width) != 0)
		return -1;
	return print_convos(ctl, user, width < 5 ? 5 : width);
}

static int convo_list(struct chatctl *ctl, int argc, char **argv)
{
	struct chatctl_args args;
	int rc = CHATCTL_FAILED;

	if (chatctl_args_parse(argc, argv, CHATCTL_FLAG_USER, 0, &args) != 0) {
		chatctl_usage_of("convo list [--user U]");
		return CHATCTL_USAGE;
	}
	if (args.user != NULL && chatctl_require_user_id(args.user) != 0)
		return CHATCTL_FAILED;
	if (chatctl_store_open_existing(ctl) != 0 ||
	    chatctl_store_begin(ctl, false) != 0)
		return CHATCTL_FAILED;
	if (list_in_snapshot(ctl, args.user) == 0)
		rc = CHATCTL_OK;
	chatctl_store_rollback(ctl); /* a read snapshot: nothing to keep */
	return rc;
}

int chatctl_convo_command(struct chatctl *ctl, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";

	if (strcmp(verb, "direct") == 0)
		return convo_direct(ctl, argc - 1, argv + 1);
	if (strcmp(verb, "list") == 0)
		return convo_list(ctl, argc - 1, argv + 1);
	chatctl_usage();
	return CHATCTL_USAGE;
}
