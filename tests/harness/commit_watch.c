/*
 * "Nothing is published before it is committed", checked where it
 * matters: on each watched client's network thread, as a message arrives
 * on its inbox and before the test sees it, the store is asked whether it
 * already holds that (convo, seq). A message that arrives first is
 * counted as early.
 *
 * The watch replaces the client's message callback with one that checks
 * and then records the message as usual; freeing the watch puts a plain
 * recording callback back, so its clients may outlive it. One watch at a
 * time per test process.
 */
#include "internal.h"

#include <mosquitto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

struct watched_client {
	struct test_client *client;
	sqlite3 *db; /* used only on the client's network thread */
};

struct test_commit_watch {
	char db_path[PATH_MAX];
	struct watched_client clients[CHAT_SERVER_MAX_CLIENTS];
	size_t count;
	long checked;
	long early;
	long unknown; /* the store could not be asked */
	char first_early[256];
};

/* Guards `active` and everything in it. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct test_commit_watch *active;

static struct watched_client *find_client(struct test_commit_watch *w,
                                          const struct test_client *c)
{
	for (size_t i = 0; i < w->count; i++) {
		if (w->clients[i].client == c)
			return &w->clients[i];
	}
	return NULL;
}

static bool open_store(const char *path, sqlite3 **db)
{
	if (*db != NULL)
		return true;
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(*db);
		*db = NULL;
		return false;
	}
	sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	return true;
}

/* SQLITE_ROW when the store holds the message, SQLITE_DONE when not. */
static int look_up(sqlite3 *db, const char *convo, long long seq)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db,
	                            "SELECT 1 FROM messages WHERE convo_id = ?1"
	                            " AND seq = ?2",
	                            -1, &stmt, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, convo, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, seq);
		rc = sqlite3_step(stmt);
	}
	sqlite3_finalize(stmt);
	return rc;
}

static void note_result(struct test_commit_watch *w, const char *user,
                        const char *convo, long long seq, int rc)
{
	w->checked++;
	if (rc == SQLITE_ROW)
		return;
	if (rc != SQLITE_DONE) {
		w->unknown++;
		return;
	}
	if (w->early++ == 0)
		snprintf(w->first_early, sizeof(w->first_early),
		         "%s received %s seq %lld before the store held it",
		         user, convo, seq);
}

static bool is_inbox_message(const char *topic)
{
	size_t len = strlen(topic);

	return len > 4 && strcmp(topic + len - 4, "/msg") == 0;
}

static void check(struct test_client *c, const struct mosquitto_message *msg)
{
	cJSON *json;
	const char *convo;
	long long seq;
	struct watched_client *wc;

	if (!is_inbox_message(msg->topic))
		return;
	json = cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen);
	convo = test_json_string(json, "convo");
	seq = test_json_number(json, "seq");
	pthread_mutex_lock(&registry_lock);
	wc = active ? find_client(active, c) : NULL;
	if (wc && convo[0] && seq > 0) {
		if (open_store(active->db_path, &wc->db))
			note_result(active, c->user, convo, seq,
			            look_up(wc->db, convo, seq));
		else
			note_result(active, c->user, convo, seq, SQLITE_ERROR);
	}
	pthread_mutex_unlock(&registry_lock);
	cJSON_Delete(json);
}

static void on_message_checked(struct mosquitto *mosq, void *obj,
                               const struct mosquitto_message *msg,
                               const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	check(obj, msg);
	test_inbox_add(obj, msg->topic, msg->payload, msg->payloadlen, msg->qos,
	               msg->retain);
}

static void on_message_plain(struct mosquitto *mosq, void *obj,
                             const struct mosquitto_message *msg,
                             const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	test_inbox_add(obj, msg->topic, msg->payload, msg->payloadlen, msg->qos,
	               msg->retain);
}

struct test_commit_watch *test_commit_watch_new(struct chat_server *srv)
{
	struct test_commit_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	snprintf(w->db_path, sizeof(w->db_path), "%s", srv->db_path);
	pthread_mutex_lock(&registry_lock);
	if (active != NULL) {
		pthread_mutex_unlock(&registry_lock);
		test_log("only one commit watch at a time");
		free(w);
		return NULL;
	}
	active = w;
	pthread_mutex_unlock(&registry_lock);
	return w;
}

int test_commit_watch_add(struct test_commit_watch *w, struct test_client *c)
{
	pthread_mutex_lock(&registry_lock);
	if (w->count == CHAT_SERVER_MAX_CLIENTS) {
		pthread_mutex_unlock(&registry_lock);
		return -1;
	}
	w->clients[w->count++].client = c;
	pthread_mutex_unlock(&registry_lock);
	/* libmosquitto swaps callbacks under the lock it calls them with. */
	mosquitto_message_v5_callback_set(c->mosq, on_message_checked);
	return 0;
}

long test_commit_watch_checked(struct test_commit_watch *w)
{
	long n;

	pthread_mutex_lock(&registry_lock);
	n = w->checked;
	pthread_mutex_unlock(&registry_lock);
	return n;
}

long test_commit_watch_early(struct test_commit_watch *w, char *first,
                             size_t len)
{
	long n;

	pthread_mutex_lock(&registry_lock);
	n = w->early;
	if (first)
		snprintf(first, len, "%s", w->first_early);
	if (w->unknown > 0)
		test_log("commit watch: %ld messages could not be looked up",
		         w->unknown);
	pthread_mutex_unlock(&registry_lock);
	return n;
}

void test_commit_watch_free(struct test_commit_watch *w)
{
	if (w == NULL)
		return;
	/* After these calls no client is inside on_message_checked. */
	for (size_t i = 0; i < w->count; i++)
		mosquitto_message_v5_callback_set(w->clients[i].client->mosq,
		                                  on_message_plain);
	pthread_mutex_lock(&registry_lock);
	if (active == w)
		active = NULL;
	pthread_mutex_unlock(&registry_lock);
	for (size_t i = 0; i < w->count; i++)
		sqlite3_close(w->clients[i].db);
	free(w);
}
