/*
 * The integration test harness.
 *
 * Every test server is real: Debian's mosquitto with build/chat_plugin.so,
 * build/chat-bridge and a SQLite file, in a temporary folder of its own, on
 * a free port of 127.0.0.1. Clients are real MQTT clients (libmosquitto, a
 * raw socket client for retransmits, or the mosquitto command line tools).
 * Tests look at what clients receive and what the database holds.
 *
 * Environment:
 *   CHAT_BUILD_DIR   where the plugin, the bridge and chatctl are (build)
 *   CHAT_SANITIZE=1  the parts are built with ASan/UBSan: the broker gets
 *                    the sanitizer runtimes preloaded, logs are checked,
 *                    and every wait is longer
 *   CHAT_TEST_VERBOSE=1  start the bridge with -v
 */
#ifndef CHAT_TEST_HARNESS_H
#define CHAT_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TEST_PREFIX       "chat" /* the topic prefix every test server uses */
#define TEST_TOKEN_MAX    128    /* device tokens, with room to spare */
#define TEST_ID_MAX       65     /* user, conversation and client ids + NUL */
#define TEST_CMID_MAX     65     /* cmids and request ids + NUL */
#define TEST_CONNACK_NONE -1     /* the connection closed without a CONNACK */
#define TEST_CONNACK_IO   -2     /* no connection at all, or a timeout */

/* ---- time and diagnostics (util.c) ---- */

/* Monotonic milliseconds. */
long long test_now_ms(void);

void test_sleep_ms(int ms);

/* True when the parts are built with sanitizers (CHAT_SANITIZE=1). */
bool test_sanitized(void);

/* A timeout in milliseconds, stretched when the parts run sanitized. */
int test_timeout_ms(int ms);

/* Whether the file (a part's log) holds the text. */
bool test_file_contains(const char *path, const char *text);

/* Prints one diagnostic line on stderr, prefixed "harness: ". */
void test_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- files and folders (files.c) ---- */

/* Creates ${TMPDIR:-/tmp}/chat-<label>-XXXXXX. Returns 0 or -1. */
int test_make_temp_dir(const char *label, char *out, size_t outlen);

/* Removes a folder and everything in it. Returns 0 or -1. */
int test_remove_tree(const char *path);

int test_write_file(const char *path, const char *text);

/* The whole file, NUL-terminated, in a malloc'd buffer; NULL on error. */
char *test_read_file(const char *path, size_t *len);

/* Prints the last lines of a file on stderr, each prefixed with label. */
void test_print_tail(const char *label, const char *path, int lines);

/* First line of the file containing one of the needles (NULL-terminated
 * list), copied into line; false when there is none. */
bool test_file_find_line(const char *path, const char *const needles[],
                         char *line, size_t linelen);

/* ---- child processes (process.c) ---- */

struct test_process {
	char name[32];
	pid_t pid;  /* 0 when not running */
	int status; /* wait status once reaped */
};

/*
 * Starts argv[0] in its own process group, killed with the test process
 * (PR_SET_PDEATHSIG), with env_extra ("NAME=value", NULL-terminated, may be
 * NULL) added to the environment and stdout and stderr appended to
 * output_path. Returns 0 or -1.
 */
int test_process_spawn(struct test_process *p, const char *name,
                       char *const argv[], char *const env_extra[],
                       const char *output_path);

/* True while the process has not exited; reaps it when it has. */
bool test_process_alive(struct test_process *p);

/* Waits up to timeout_ms for the process to exit by itself. Returns 0 with
 * the wait status in p->status, or -1 when it is still running. */
int test_process_wait(struct test_process *p, int timeout_ms);

/* SIGTERM to the group, SIGKILL after about 3 s, then reaps. Returns 0 when
 * it exited on SIGTERM, -1 when it had to be killed or was not running. */
int test_process_stop(struct test_process *p);

/* SIGKILL to the group, then reaps. */
void test_process_kill(struct test_process *p);

/*
 * Runs argv to completion within timeout_ms, capturing stdout into out and
 * stderr into err (both NUL-terminated, truncated to fit). Returns the exit
 * status (0-255), or -1 when it could not run, was killed or timed out.
 */
int test_process_run(char *const argv[], int timeout_ms, char *out,
                     size_t outlen, char *err, size_t errlen);

/* ---- ports (port.c) ---- */

/* A TCP port of 127.0.0.1 that was free a moment ago, or -1. */
int test_free_port(void);

/* ---- test servers (server*.c) ---- */

#define CHAT_SERVER_MAX_LINES   8
#define CHAT_SERVER_MAX_CLIENTS 64
#define CHAT_SERVER_MAX_HELPERS 4
#define CHAT_SERVER_MAX_FLEETS  4

struct test_client;
struct test_fleet;

/* What a test may change; zero-initialised means the production setup. */
struct chat_server_config {
	/* Keep the broker's sessions in a snapshot (`persistence true`). */
	bool persistence;
	/* Broker lines ("max_queued_messages 10"); each replaces the template
	 * line with the same key or is added. */
	const char *broker_lines[CHAT_SERVER_MAX_LINES];
	/* Plugin options without "plugin_opt_" ("max_envelope_bytes 1024");
	 * each replaces the template option with the same name or is added. */
	const char *plugin_options[CHAT_SERVER_MAX_LINES];
	/* Run the broker under libfaketime, its wall clock moved by
	 * chat_server_step_clock (its monotonic clock is left alone). */
	bool fake_wall_clock;
};

struct chat_server {
	char dir[PATH_MAX / 2];       /* the server's own temporary folder */
	char conf_path[PATH_MAX];     /* mosquitto.conf for all three parts */
	char db_path[PATH_MAX];       /* the SQLite store */
	char broker_log[PATH_MAX];    /* the broker's stdout and stderr */
	char bridge_log[PATH_MAX];    /* the bridge's stdout and stderr */
	char build_dir[PATH_MAX / 2]; /* absolute $CHAT_BUILD_DIR */
	int port;
	struct chat_server_config config;
	struct test_process broker;
	struct test_process bridge;
	char probe_token[TEST_TOKEN_MAX]; /* of the readiness probe user */
	int probe_count;
	int client_count; /* clients made so far, for default client ids */
	struct test_client *clients[CHAT_SERVER_MAX_CLIENTS];
	/* Other programs a test runs against the server (mosquitto_sub). */
	struct test_process helpers[CHAT_SERVER_MAX_HELPERS];
	/* Connection fleets, closed at chat_server_stop at the latest. */
	struct test_fleet *fleets[CHAT_SERVER_MAX_FLEETS];
};

/*
 * Creates the folder and configuration, runs `chatctl init`, starts the
 * broker and the bridge and waits until a probe client gets a ping answer.
 * config may be NULL. Returns NULL (after printing why) on failure; the
 * folder is then kept.
 */
struct chat_server *chat_server_start(const struct chat_server_config *cfg);

/*
 * Closes the server's clients, stops the bridge and the broker, and checks
 * their logs for sanitizer reports. When passed and the logs are clean the
 * folder is removed; otherwise its path and the tail of both logs are
 * printed. Returns 0, or -1 when a log holds a sanitizer report (written
 * into problem).
 */
int chat_server_stop(struct chat_server *srv, bool passed, char *problem,
                     size_t problemlen);

/* Starts another program for the test (output appended to output_path);
 * it is killed at chat_server_stop if still running. NULL on failure. */
struct test_process *chat_server_spawn_helper(struct chat_server *srv,
                                              const char *name,
                                              char *const argv[],
                                              const char *output_path);

/* Writes the configuration for the current port (server_config.c). */
int chat_server_write_config(struct chat_server *srv);

/* kill -9 of one part; the other keeps running. */
void chat_server_kill_broker(struct chat_server *srv);
void chat_server_kill_bridge(struct chat_server *srv);

/* A clean stop of one part (SIGTERM); 0 when it exited in time. */
int chat_server_stop_broker(struct chat_server *srv);
int chat_server_stop_bridge(struct chat_server *srv);

/* Starts a stopped part again (same port, folder and configuration) and
 * waits until the server answers pings. Returns 0 or -1. */
int chat_server_start_broker(struct chat_server *srv);
int chat_server_start_bridge(struct chat_server *srv);

/* Spawns the processes without waiting (server_parts.c). */
int chat_server_spawn_broker(struct chat_server *srv);

/* For a server with fake_wall_clock: sets how far the broker's wall clock
 * is from the real one, in seconds (negative: behind), from its next
 * reading of the clock on. 0 on success. */
int chat_server_step_clock(struct chat_server *srv, long seconds);

/* For a server with fake_wall_clock: adds libfaketime's environment to
 * env (NULL-terminated, envlen entries at most); refused (-1) when env
 * already preloads something, as the sanitizer runs do. 0 on success. */
int test_fake_clock_env(struct chat_server *srv, char *storage,
                        size_t storagelen, char *env[], size_t envlen);
int chat_server_spawn_bridge(struct chat_server *srv);

/* Polls with a probe client until a ping is answered with "ok":true, for
 * at most timeout_ms. Returns 0 or -1 (server_ready.c). */
int chat_server_wait_ready(struct chat_server *srv, int timeout_ms);

/* Sanitizer environment and log checks (sanitizer.c). env receives
 * NULL-terminated "NAME=value" strings pointing into storage. */
void test_sanitizer_broker_env(char *storage, size_t storagelen, char *env[],
                               size_t envlen);
void test_sanitizer_bridge_env(char *storage, size_t storagelen, char *env[],
                               size_t envlen);
/* Returns true and the offending line when the log shows a sanitizer
 * report. leaks: also look for LeakSanitizer. */
bool test_sanitizer_report(const char *log_path, bool leaks, char *line,
                           size_t linelen);

/* ---- users, devices and conversations through chatctl (admin.c) ---- */

/* Runs `chatctl -c CONF args...` (NULL-terminated) capturing stdout,
 * trimmed. Returns 0 when it exits 0; otherwise prints stderr, -1. */
int chat_server_ctl(struct chat_server *srv, char *out, size_t outlen, ...)
    __attribute__((sentinel));

/* Runs `chatctl -c CONF args...` (NULL-terminated) whatever its outcome:
 * stdout (trimmed) into out, stderr into err. Returns the exit status, or
 * -1 when it could not run or timed out. */
int chat_server_ctl_status(struct chat_server *srv, char *out, size_t outlen,
                           char *err, size_t errlen, ...)
    __attribute__((sentinel));

/* `user add`: token_out receives the first device's token. */
int chat_server_add_user(struct chat_server *srv, const char *user,
                         char token_out[TEST_TOKEN_MAX]);

/* `device add`: a new token; device_out (may be NULL, else TEST_ID_MAX)
 * receives the id `device list` shows for it. */
int chat_server_add_device(struct chat_server *srv, const char *user,
                           char token_out[TEST_TOKEN_MAX], char *device_out);

int chat_server_revoke_device(struct chat_server *srv, const char *device);

/* `convo direct`: convo_out receives the conversation id. */
int chat_server_direct(struct chat_server *srv, const char *a, const char *b,
                       char convo_out[TEST_ID_MAX]);

/* ---- many users at once, written into the store (accounts.c) ---- */

struct test_account {
	char user[TEST_ID_MAX];
	char token[TEST_TOKEN_MAX];
};

/*
 * Creates count users named prefix0000, prefix0001, ... with one device
 * token each, in one transaction, the way chatctl writes them. Fast enough
 * for thousands. Returns 0 or -1.
 */
int chat_server_insert_accounts(struct chat_server *srv, const char *prefix,
                                struct test_account *out, size_t count);

/* Points names[i] at accounts[i].user. */
void test_account_names(const struct test_account *accounts, size_t count,
                        const char **names);

/* ---- MQTT test client over libmosquitto (client*.c, inbox.c) ---- */

struct test_client_options {
	const char *user;      /* NULL: connect without a username */
	const char *password;  /* NULL: no password */
	const char *client_id; /* NULL: "<user>-<n>" */
	bool durable;          /* clean session / clean start off */
	int mqtt_version;      /* 5 for MQTT 5; anything else is 3.1.1 */
	/* Subscribe chat/u/{user}/# with QoS 1 on every connect, and count the
	 * connection as ready only once that is granted. */
	bool subscribe_inbox;
};

/* One publish the client received, kept until the client is destroyed. */
struct test_inbox_entry {
	char *topic;
	char *payload; /* NUL-terminated copy */
	int payloadlen;
	int qos;
	bool retain;
	cJSON *json; /* the parsed payload, NULL when it is not JSON */
	long long received_ms;
};

/* An acknowledgement from the broker: SUBACK (granted QoS of the first
 * filter) or PUBACK (reason code, 0 for MQTT 3.1.1). */
struct test_ack {
	int mid;
	int value;
};

struct test_client {
	struct chat_server *server;
	struct mosquitto *mosq;
	char user[TEST_ID_MAX];
	char client_id[128];
	int mqtt_version;
	bool subscribe_inbox;

	pthread_mutex_t lock;
	pthread_cond_t changed;
	/* Everything below is guarded by lock. */
	struct test_inbox_entry **entries;
	size_t count, capacity;
	struct test_ack *acks;
	size_t ack_count, ack_capacity;
	int connack;          /* the last CONNACK code, TEST_CONNACK_NONE */
	bool connected;       /* CONNACK 0 received and not disconnected */
	bool session_present; /* the last CONNACK resumed a stored session */
	bool stop_on_refusal; /* until the first accepted CONNACK */
	int inbox_mid;        /* mid of the pending inbox subscription */
	int ready_count;      /* accepted connects with the inbox granted */
	int disconnects;
	unsigned requests; /* request ids handed out */
};

/* Matches inbox entries; NULL / 0 fields match anything. */
struct test_match {
	const char *kind; /* last topic level of chat/u/{me}/...: "msg",
	                     "resp", "event" */
	const char *convo;
	long seq;
	const char *from;
	const char *cmid;
	const char *id;   /* response id */
	const char *code; /* error code of an event or a failed response */
	const char
	    *topic;       /* the exact topic, e.g. a broadcast chat/c/{convo} */
	const char *type; /* "type" of a system message or an event */
};

/*
 * Connects to the server and starts the network thread. Returns the CONNACK
 * code (0 accepted), TEST_CONNACK_NONE when the broker closed the connection
 * without one, or TEST_CONNACK_IO. On 0 *out is the client, owned by the
 * server (closed at chat_server_stop at the latest), else *out is NULL.
 */
int test_client_connect(struct chat_server *srv,
                        const struct test_client_options *opts,
                        struct test_client **out);

/* A user's device: 3.1.1, clean session, inbox subscribed. NULL when the
 * connection or subscription fails. */
struct test_client *test_client_connect_user(struct chat_server *srv,
                                             const char *user,
                                             const char *token);

/* Waits until the client has been accepted (and its inbox subscribed)
 * `count` times since it was created, e.g. 2 after one broker restart. */
int test_client_wait_ready(struct test_client *c, int count, int timeout_ms);

/* True while connected. */
bool test_client_connected(struct test_client *c);

/* True when the last CONNACK said the broker resumed a stored session. */
bool test_client_session_present(struct test_client *c);

/* How often the connection was lost or closed so far. */
int test_client_disconnects(struct test_client *c);

/* Sends DISCONNECT and frees the client. */
void test_client_close(struct test_client *c);

/* Cuts the TCP connection without DISCONNECT (like a lost network), then
 * frees the client. */
void test_client_drop(struct test_client *c);

/* Sends UNSUBSCRIBE and waits for the UNSUBACK: 0, or -1. */
int test_client_unsubscribe(struct test_client *c, const char *filter);

/* Connects as user with password (MQTT mqtt_version, 4 or 5) and closes
 * again at once. Returns the CONNACK code (0: accepted) or a
 * TEST_CONNACK_ value. */
int test_client_try_connect(struct chat_server *srv, const char *user,
                            const char *password, int mqtt_version);

/* Returns the granted QoS of the SUBACK (0x80 / 0x87 for a refusal), or -1
 * when none arrived in time. */
int test_client_subscribe(struct test_client *c, const char *filter, int qos);

/* Publishes; *mid (may be NULL) receives the message id. Returns 0 or -1. */
int test_client_publish(struct test_client *c, const char *topic,
                        const void *payload, int len, int qos, bool retain,
                        int *mid);

/* Waits for the PUBACK of mid; returns its reason code or -1. */
int test_client_wait_puback(struct test_client *c, int mid, int timeout_ms);

/* Sends {"cmid":..,"body":..} to chat/send/{convo} with QoS 1. */
int test_client_send(struct test_client *c, const char *convo, const char *cmid,
                     const char *body, int *mid);

/* Sends payload text as is to chat/send/{convo} with QoS 1. */
int test_client_send_raw(struct test_client *c, const char *convo,
                         const void *payload, int len);

/* The number of entries received so far: a mark for "since" waits. */
size_t test_client_mark(struct test_client *c);

/* The entry at index (stable until the client is freed), or NULL. */
const struct test_inbox_entry *test_client_entry(struct test_client *c,
                                                 size_t index);

/* Waits for the first entry at or after index `since` that matches, and
 * returns its JSON (owned by the client), or NULL after timeout_ms. */
cJSON *test_client_wait(struct test_client *c, const struct test_match *m,
                        size_t since, int timeout_ms);

/* Like test_client_wait, for an entry whose number field `name` also
 * equals value (a receipt that reached a count, a cursor at a seq). */
cJSON *test_client_wait_number(struct test_client *c,
                               const struct test_match *m, size_t since,
                               const char *name, long long value,
                               int timeout_ms);

/* Counts matching entries at or after index `since`. */
int test_client_count(struct test_client *c, const struct test_match *m,
                      size_t since);

/* Waits until at least `count` entries exist; false after timeout_ms. */
bool test_client_wait_entries(struct test_client *c, size_t count,
                              int timeout_ms);

/* Returns the number of entries that arrived within ms milliseconds;
 * 0 means nothing arrived. */
int test_client_quiet(struct test_client *c, int ms);

/* The seqs of the conversation's messages in the order they arrived (all
 * of them, repeats included), at most max; returns how many there were. */
size_t test_client_seqs(struct test_client *c, const char *convo, long *out,
                        size_t max);

/* Waits until every seq from first to last of the conversation has arrived
 * on the inbox (repeats allowed); false after timeout_ms. */
bool test_client_wait_seqs(struct test_client *c, const char *convo, long first,
                           long last, int timeout_ms);

/* Shorthands over test_client_wait from the first entry. */
cJSON *test_client_wait_message(struct test_client *c, const char *convo,
                                long seq, int timeout_ms);
cJSON *test_client_wait_tick(struct test_client *c, const char *convo,
                             const char *cmid, int timeout_ms);
cJSON *test_client_wait_error(struct test_client *c, const char *cmid,
                              int timeout_ms);
cJSON *test_client_wait_response(struct test_client *c, const char *id,
                                 int timeout_ms);

/* True when the entry matches (for code scanning the inbox itself). */
bool test_entry_matches(const struct test_client *c,
                        const struct test_inbox_entry *e,
                        const struct test_match *m);

/* JSON accessors that tolerate missing fields: "" and -1. */
const char *test_json_string(const cJSON *obj, const char *name);
long long test_json_number(const cJSON *obj, const char *name);

/* ---- requests (requests.c) ---- */

/* Publishes the JSON object text (without "id") to chat/req with a fresh
 * id, copied into id_out (TEST_CMID_MAX). Returns 0 or -1. */
int test_client_request_send(struct test_client *c, const char *json,
                             char *id_out);

/* Sends a request built from fmt and waits for its response (owned by the
 * client), NULL after timeout_ms. */
cJSON *test_client_request(struct test_client *c, int timeout_ms,
                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Publishes the JSON object text to chat/req with the given request id
 * (replacing any "id" in it). Returns 0 or -1. */
int test_client_request_send_as(struct test_client *c, const char *json,
                                const char *id);

/* Syncs a conversation from `after` page by page until "more" is false.
 * Returns a new array of copies of the messages in the order received
 * (free with cJSON_Delete), NULL on an error or timeout. *pages (may be
 * NULL) receives the number of pages. */
cJSON *test_client_sync_all(struct test_client *c, const char *convo,
                            long after, int limit, int *pages);

/* ---- groups and channels (groups.c) ---- */

/*
 * Creates a group, or a channel, owned by the client's user, with the other
 * members given, through a create_group request. convo_out receives its id.
 * Returns the seq of its "created" message, or -1 after logging why.
 */
long test_group_create(struct test_client *owner, const char *title,
                       const char *const members[], size_t count, bool channel,
                       char convo_out[TEST_ID_MAX]);

/* add_members / remove_members of users as the client's user. Returns the
 * seq of the system message, 0 when the answer has none, -1 on a refusal
 * or a timeout (logged). */
long test_group_add(struct test_client *c, const char *convo,
                    const char *const users[], size_t count);
long test_group_remove(struct test_client *c, const char *convo,
                       const char *const users[], size_t count);

/* A JSON array of the strings, malloc'd ("[\"a\",\"b\"]"); NULL when out of
 * memory. */
char *test_json_string_list(const char *const items[], size_t count);

/* The error code of a failed response, "" for a success or none. */
const char *test_response_code(const cJSON *resp);

/* Publishes a receipt {"delivered":d,"read":r} (a negative value leaves
 * the field out) on chat/ack/{convo}. Returns 0 or -1. */
int test_client_ack(struct test_client *c, const char *convo, long delivered,
                    long read);

/* ---- many connections driven from one thread (fleet.c) ---- */

/* One publish a fleet connection received, kept until the fleet is
 * freed. */
struct test_fleet_publish {
	char *topic;
	char *payload; /* NUL-terminated */
	long long received_ms;
};

/*
 * An empty fleet for up to capacity raw MQTT 3.1.1 connections to the
 * server, all read by test_fleet_pump on the caller's thread; QoS 1
 * publishes are acknowledged as they are read. Raises the process's open
 * file limit when capacity needs it. NULL on failure.
 */
struct test_fleet *test_fleet_new(struct chat_server *srv, size_t capacity);

/* Disconnects every connection and frees the fleet. */
void test_fleet_free(struct test_fleet *f);

/* Connects one clean-session connection per account (client id
 * "<user>-fleet"), in waves the broker's listen backlog can take. Returns
 * 0 when every one was accepted within timeout_ms, else -1. */
int test_fleet_connect(struct test_fleet *f, const struct test_account *a,
                       size_t count, int timeout_ms);

size_t test_fleet_size(const struct test_fleet *f);

/* Sends SUBSCRIBE filter (QoS 1) on connection i without waiting. */
int test_fleet_subscribe(struct test_fleet *f, size_t i, const char *filter);

/* Pumps until every SUBSCRIBE sent has its SUBACK. Returns 0 or -1. */
int test_fleet_wait_subacks(struct test_fleet *f, int timeout_ms);

/* The granted QoS of connection i's last SUBACK (0x80 when refused), -1
 * when none arrived. */
int test_fleet_suback(const struct test_fleet *f, size_t i);

/* Publishes payload with QoS 1 on connection i. Returns 0 or -1. */
int test_fleet_publish(struct test_fleet *f, size_t i, const char *topic,
                       const char *payload);

/* Reads and handles whatever arrives within ms milliseconds. */
void test_fleet_pump(struct test_fleet *f, int ms);

/* Pumps until every connection has received at least `each` publishes.
 * Returns true, or false after timeout_ms. */
bool test_fleet_wait_each(struct test_fleet *f, size_t each, int timeout_ms);

/* Publishes connection i received so far, and one of them. */
size_t test_fleet_count(const struct test_fleet *f, size_t i);
const struct test_fleet_publish *test_fleet_entry(const struct test_fleet *f,
                                                  size_t i, size_t k);

/* True while connection i is open (the broker has not closed it). */
bool test_fleet_open(const struct test_fleet *f, size_t i);

/* ---- raw MQTT 3.1.1 over a socket, for genuine retransmits (raw_mqtt.c) */

struct raw_mqtt {
	int fd;
};

/* Connects and reads the CONNACK. Returns its code, TEST_CONNACK_NONE or
 * TEST_CONNACK_IO; the socket stays open only on 0. user and password may
 * be NULL; both may hold any bytes. */
int raw_mqtt_connect(struct raw_mqtt *r, int port, const char *client_id,
                     const char *user, const void *password, size_t passlen,
                     bool clean_session, int timeout_ms);

/* Writes one PUBLISH with the given packet id (QoS > 0) and DUP flag. */
int raw_mqtt_publish(struct raw_mqtt *r, const char *topic, const void *payload,
                     size_t len, int qos, unsigned packet_id, bool dup);

/* Reads packets until the PUBACK of packet_id. Returns 0 or -1. */
int raw_mqtt_wait_puback(struct raw_mqtt *r, unsigned packet_id,
                         int timeout_ms);

/* Sends DISCONNECT and closes. */
void raw_mqtt_disconnect(struct raw_mqtt *r);

/* Closes the socket without DISCONNECT. */
void raw_mqtt_drop(struct raw_mqtt *r);

/* ---- the database, read-only (db.c) ---- */

struct test_db_message {
	long seq;
	char sender[TEST_ID_MAX];
	char cmid[TEST_CMID_MAX];
	char type[16]; /* a system message's type, "" for a member's message */
	char id[24];
	long long ts;
	char *body; /* malloc'd */
};

/* Messages of the conversation (-1 on error). */
int test_db_count_messages(struct chat_server *srv, const char *convo);

/* Rows with this (convo, sender, cmid) (-1 on error). */
int test_db_count_cmid(struct chat_server *srv, const char *convo,
                       const char *sender, const char *cmid);

/* All seqs of the conversation in ascending order (malloc'd). */
int test_db_seqs(struct chat_server *srv, const char *convo, long **seqs,
                 size_t *count);

/* The message at seq; 0, or -1 when absent. Free out->body. */
int test_db_message(struct chat_server *srv, const char *convo, long seq,
                    struct test_db_message *out);

/* The first column of the first row of sql (an integer), with the
 * NULL-terminated params bound as text; -1 on an error or no row. */
long long test_db_integer(struct chat_server *srv, const char *sql,
                          const char *const params[]);

/* A members row: role and seqs (left -1 while a member). */
struct test_db_member {
	char role[16];
	long joined;
	long left;
	long delivered;
	long read;
};

/* The member's row; 0, or -1 when there is none. */
int test_db_member(struct chat_server *srv, const char *convo, const char *user,
                   struct test_db_member *out);

/* ---- the reconnect recipe of PROTOCOL.md (recipe.c) ---- */

struct recipe_convo;

/*
 * A client that follows the reconnect recipe: per conversation it keeps
 * `contiguous`, stores messages by (convo, seq), and syncs from contiguous
 * on a gap. "Shown" is the order in which messages became contiguous: what
 * a user would see.
 */
struct recipe_client {
	struct test_client *client;
	size_t scanned; /* inbox entries already processed */
	int syncs;      /* sync requests made */
	int ignored;    /* live messages ignored as already held */
	struct recipe_convo *convos;
	size_t convo_count;
};

void recipe_init(struct recipe_client *r, struct test_client *c);
void recipe_free(struct recipe_client *r);

/* Step 3: `conversations`, then sync each one whose head is above its
 * contiguous. Returns 0 or -1. */
int recipe_catch_up(struct recipe_client *r);

/* Step 4 for every live message received since the last call, syncing on
 * gaps. Returns 0 or -1. */
int recipe_process_live(struct recipe_client *r);

long recipe_contiguous(const struct recipe_client *r, const char *convo);

/* The seqs shown so far, in the order shown; *count receives how many. */
const long *recipe_shown(const struct recipe_client *r, const char *convo,
                         size_t *count);

/* The body stored for (convo, seq), or NULL. */
const char *recipe_body(const struct recipe_client *r, const char *convo,
                        long seq);

/* ---- an outbox that resends until ticked (outbox.c) ---- */

struct outbox_item;

/*
 * Step 5 of the recipe for many messages of one conversation: every message
 * is resent with its cmid on a retryable error event and when no tick came
 * within resend_ms, until it is ticked.
 */
struct test_outbox {
	struct test_client *client;
	char convo[TEST_ID_MAX];
	int resend_ms;
	struct outbox_item *items;
	size_t count, capacity;
	size_t *slots; /* open-addressing index by cmid */
	size_t slot_count;
	size_t scanned;
	size_t ticked;
	long resends;
};

int test_outbox_init(struct test_outbox *o, struct test_client *c,
                     const char *convo, size_t capacity, int resend_ms);
void test_outbox_free(struct test_outbox *o);

/* Adds a message and publishes it. Returns 0 or -1. */
int test_outbox_send(struct test_outbox *o, const char *cmid, const char *body);

/* Processes ticks and errors received so far and resends what is due.
 * Returns the number of messages still without a tick. */
size_t test_outbox_pump(struct test_outbox *o);

/* Pumps until every message is ticked or timeout_ms passes. Returns the
 * number still without a tick. */
size_t test_outbox_settle(struct test_outbox *o, int timeout_ms);

/* True when this cmid has been ticked. */
bool test_outbox_ticked(const struct test_outbox *o, const char *cmid);

/* ---- Valgrind (valgrind.c) ---- */

/* True when the broker and the bridge run under memcheck (CHAT_VALGRIND=1,
 * set by `make valgrind`); every wait is then ten times longer. Reports go
 * to valgrind-<part>.<pid>.log in the server's folder, with the
 * suppressions of $CHAT_VALGRIND_SUPPRESSIONS. */
bool test_valgrind(void);

/* Points argv[0...] (at most max, storage holding the words) at valgrind's
 * command line for a part ("broker", "bridge") of the server in dir.
 * Returns how many words, 0 when not under valgrind, (size_t)-1 when they
 * do not fit. */
size_t test_valgrind_prefix(const char *dir, const char *part, char *storage,
                            size_t storagelen, char *argv[], size_t max);

/* True, with the first offending line, when a report in dir shows an
 * error or a definite or indirect leak. */
bool test_valgrind_report(const char *dir, char *line, size_t linelen);

/* Copies the reports in dir to $CHAT_VALGRIND_LOG_DIR, if set. */
void test_valgrind_keep_reports(const char *dir);

/* ---- faults: parts under limits, a locked store, hanging clients ---- */

/* Spawns the bridge behind a wrapper that execs it in the same process
 * (wrapper NULL-terminated, e.g. {"prlimit", "--fsize=N:unlimited", NULL});
 * does not wait for readiness (server_parts.c). */
int chat_server_spawn_bridge_wrapped(struct chat_server *srv,
                                     char *const wrapper[]);

/* VmRSS of a running process in KiB, or -1 (resources.c). */
long test_process_rss_kib(pid_t pid);

/* Sets the soft limit on the size of the files the process writes
 * (RLIMIT_FSIZE) with prlimit --pid; bytes < 0 lifts it. 0 or -1. */
int test_process_file_limit(pid_t pid, long long bytes);

/* A connection of another process holding SQLite's write lock (BEGIN
 * IMMEDIATE) until released, like a backup or a long admin operation
 * (db_faults.c). NULL on failure. */
struct test_db_writer;
struct test_db_writer *test_db_hold_write_lock(struct chat_server *srv);
void test_db_release_write_lock(struct test_db_writer *w);

/* Copies the write-ahead log into the database and truncates it to zero
 * bytes. 0 or -1. */
int test_db_checkpoint_truncate(struct chat_server *srv);

/* The size of a file in bytes, -1 when it does not exist. */
long long test_file_size(const char *path);

/*
 * Checks, on each watched client's network thread as a message arrives on
 * its inbox, that the store already holds its (convo, seq): nothing may be
 * published before it is committed (commit_watch.c). One watch at a time;
 * free it before closing its clients, or let it outlive them only if they
 * are closed by chat_server_stop after it was freed.
 */
struct test_commit_watch;
struct test_commit_watch *test_commit_watch_new(struct chat_server *srv);
int test_commit_watch_add(struct test_commit_watch *w, struct test_client *c);
long test_commit_watch_checked(struct test_commit_watch *w);
/* How many arrived before the store held them; first (may be NULL)
 * receives a description of the first one. */
long test_commit_watch_early(struct test_commit_watch *w, char *first,
                             size_t len);
void test_commit_watch_free(struct test_commit_watch *w);

/* Connects as the user over a socket whose receive buffer is cut to
 * receive_buffer bytes, subscribes to chat/u/{user}/# with QoS 1 and
 * returns without reading anything more, ever: a device that hangs
 * (stalled.c). 0 or -1; close it with raw_mqtt_drop. */
int test_stalled_subscriber(struct raw_mqtt *r, int port, const char *user,
                            const char *token, const char *client_id,
                            int receive_buffer);

#endif
