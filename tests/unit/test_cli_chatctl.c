/*
 * chatctl end to end: the built binary runs against a configuration and a
 * database in a temporary directory; the tests check what an operator sees
 * (stdout, stderr, exit status) and what the database then holds.
 *
 * The binary is the chatctl of the same build directory as this test
 * (build/chatctl next to build/tests/unit/), or $CHATCTL when set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "token.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_MAX 8192
#define ARGS_MAX   16

struct cli_env {
	char dir[64];
	char conf[128];
	char db[128];
	char token_file[128];
	char out_file[128];
	char err_file[128];
	char chatctl[PATH_MAX];
};

struct cli_result {
	int status;
	char out[OUTPUT_MAX];
	char err[OUTPUT_MAX];
};

static int find_chatctl(char *out, size_t outlen)
{
	const char *env = getenv("CHATCTL");
	char self[PATH_MAX];
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(out, outlen, "%s", env);
		return access(out, X_OK);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	/* {build}/tests/unit/test_cli_chatctl -> {build}/chatctl */
	snprintf(out, outlen, "%s/../../chatctl", dirname(self));
	return access(out, X_OK);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int make_env(void **state)
{
	struct cli_env *env = calloc(1, sizeof(*env));
	char conf[512];

	if (env == NULL)
		return -1;
	*state = env;
	if (find_chatctl(env->chatctl, sizeof(env->chatctl)) != 0) {
		fprintf(stderr,
		        "chatctl not found at %s: build it first "
		        "(make build/chatctl)\n",
		        env->chatctl);
		return -1;
	}
	snprintf(env->dir, sizeof(env->dir), "/tmp/chatctl-test-XXXXXX");
	if (mkdtemp(env->dir) == NULL)
		return -1;
	snprintf(env->conf, sizeof(env->conf), "%s/mosquitto.conf", env->dir);
	snprintf(env->db, sizeof(env->db), "%s/state/chat.db", env->dir);
	snprintf(env->token_file, sizeof(env->token_file),
	         "%s/state/bridge.token", env->dir);
	snprintf(env->out_file, sizeof(env->out_file), "%s/stdout", env->dir);
	snprintf(env->err_file, sizeof(env->err_file), "%s/stderr", env->dir);
	snprintf(conf, sizeof(conf),
	         "listener 1884 127.0.0.1\n"
	         "plugin_opt_database %s/not-this.db\n"
	         "plugin build/chat_plugin.so\n"
	         "plugin_opt_database %s\n"
	         "plugin_opt_service_token_file %s\n",
	         env->dir, env->db, env->token_file);
	write_file(env->conf, conf);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int remove_env(void **state)
{
	struct cli_env *env = *state;

	if (env != NULL && env->dir[0] != '\0' &&
	    strncmp(env->dir, "/tmp/chatctl-test-", 18) == 0)
		nftw(env->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(env);
	return 0;
}

static void read_file(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(out, 1, outlen - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

static void redirect(const char *path, int fd)
{
	int file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (file < 0 || dup2(file, fd) < 0)
		_exit(127);
	close(file);
}

/* Starts chatctl -c {conf} with the arguments in ap (NULL-terminated),
 * its output going to the environment's files. */
static pid_t start_va(struct cli_env *env, va_list ap)
{
	const char *argv[ARGS_MAX + 4] = {env->chatctl, "-c", env->conf};
	int argc = 3;
	pid_t pid;

	while (argc < ARGS_MAX && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	argv[argc] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		redirect(env->out_file, STDOUT_FILENO);
		redirect(env->err_file, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits for a chatctl started with start_va and collects its output. */
static void collect(struct cli_env *env, pid_t pid, struct cli_result *r)
{
	int wstatus = 0;

	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	r->status = WEXITSTATUS(wstatus);
	read_file(env->out_file, r->out, sizeof(r->out));
	read_file(env->err_file, r->err, sizeof(r->err));
}

/* Runs chatctl -c {conf} with the NULL-terminated arguments. */
static void run(struct cli_env *env, struct cli_result *r, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, r);
	pid = start_va(env, ap);
	va_end(ap);
	collect(env, pid, r);
}

/* Starts chatctl without waiting for it: the test plays the bridge. */
static pid_t start(struct cli_env *env, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, env);
	pid = start_va(env, ap);
	va_end(ap);
	return pid;
}

#define RUN(env, r, ...)  run(env, r, __VA_ARGS__, (const char *)NULL)
#define START(env, ...)   start(env, __VA_ARGS__, (const char *)NULL)

static void expect_success(const struct cli_result *r)
{
	if (r->status != 0)
		fprintf(stderr, "chatctl failed (%d): %s", r->status, r->err);
	assert_int_equal(r->status, 0);
}

static void expect_error(const struct cli_result *r, const char *needle)
{
	assert_int_equal(r->status, 1);
	assert_int_equal(strncmp(r->err, "chatctl: ", 9), 0);
	if (needle != NULL && strstr(r->err, needle) == NULL)
		fprintf(stderr, "expected '%s' in: %s", needle, r->err);
	if (needle != NULL)
		assert_non_null(strstr(r->err, needle));
}

static int count_lines(const char *text)
{
	int lines = 0;

	for (; *text; text++)
		lines += *text == '\n';
	return lines;
}

static bool is_token_line(const char *out)
{
	if (strlen(out) != CHAT_TOKEN_LEN + 1 || out[CHAT_TOKEN_LEN] != '\n')
		return false;
	for (size_t i = 0; i < CHAT_TOKEN_LEN; i++) {
		char c = out[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void init_store(struct cli_env *env)
{
	struct cli_result r;

	RUN(env, &r, "init");
	expect_success(&r);
}

/* Adds a user and returns the token printed for it. */
static void add_user(struct cli_env *env, const char *user,
                     char token[CHAT_TOKEN_LEN + 1])
{
	struct cli_result r;

	RUN(env, &r, "user", "add", user);
	expect_success(&r);
	assert_true(is_token_line(r.out));
	memcpy(token, r.out, CHAT_TOKEN_LEN);
	token[CHAT_TOKEN_LEN] = '\0';
}

/* --- reading the database the way the plugin would --- */

static sqlite3 *open_store(struct cli_env *env)
{
	sqlite3 *db = NULL;

	assert_int_equal(
	    sqlite3_open_v2(env->db, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static long long count_rows(struct cli_env *env, const char *sql,
                            const char *param)
{
	sqlite3 *db = open_store(env);
	sqlite3_stmt *stmt;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	                 SQLITE_OK);
	if (param != NULL)
		sqlite3_bind_text(stmt, 1, param, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

/* Number of devices of user whose stored hash is that of token. */
static long long devices_with_token(struct cli_env *env, const char *user,
                                    const char *token, bool active_only)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	sqlite3 *db = open_store(env);
	sqlite3_stmt *stmt;
	long long n;

	chat_token_hash(token, strlen(token), hash);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT COUNT(*) FROM devices WHERE "
	                       "user_id = ? AND token_hash = ? AND "
	                       "(? = 0 OR revoked_at IS NULL)",
	                       -1, &stmt, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, active_only);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

static bool file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	char *data;
	size_t n;
	bool found;

	if (f == NULL)
		return false;
	data = malloc(4 << 20);
	assert_non_null(data);
	n = fread(data, 1, 4 << 20, f);
	fclose(f);
	found = memmem(data, n, needle, strlen(needle)) != NULL;
	free(data);
	return found;
}

/* --- playing the bridge: answering what chatctl leaves in admin_requests
 * --- */

#define BRIDGE_WAIT_MS 5000

struct admin_request {
	char actor[80];
	cJSON *request; /* free with cJSON_Delete */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the oldest waiting request into got; false when there is none. */
static bool take_waiting(sqlite3 *db, struct admin_request *got,
                         long long *row)
{
	sqlite3_stmt *stmt;
	bool found;

	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT id, actor, request FROM "
	                                    "admin_requests WHERE done_at IS "
	                                    "NULL ORDER BY id LIMIT 1",
	                                    -1, &stmt, NULL),
	                 SQLITE_OK);
	found = sqlite3_step(stmt) == SQLITE_ROW;
	if (found) {
		*row = sqlite3_column_int64(stmt, 0);
		snprintf(got->actor, sizeof(got->actor), "%s",
		         (const char *)sqlite3_column_text(stmt, 1));
		got->request =
		    cJSON_Parse((const char *)sqlite3_column_text(stmt, 2));
	}
	sqlite3_finalize(stmt);
	return found;
}

/* Waits for chatctl's request and answers it as the bridge would. */
static void answer_request(struct cli_env *env, const char *response,
                           struct admin_request *got)
{
	long long deadline = now_ms() + BRIDGE_WAIT_MS, row = 0;
	sqlite3 *db = open_store(env);
	sqlite3_stmt *stmt;
	bool found;

	while (!(found = take_waiting(db, got, &row)) && now_ms() < deadline)
		usleep(10000);
	assert_true(found);
	assert_non_null(got->request);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "UPDATE admin_requests SET "
	                                    "response = ?, done_at = 1 "
	                                    "WHERE id = ?",
	                                    -1, &stmt, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(stmt, 1, response, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, row);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

static const char *request_string(const struct admin_request *got,
                                  const char *name)
{
	const cJSON *item =
	    cJSON_GetObjectItemCaseSensitive(got->request, name);

	return cJSON_IsString(item) ? item->valuestring : "";
}

/* The request's list `name` joined by commas. */
static void request_list(const struct admin_request *got, const char *name,
                         char *out, size_t outlen)
{
	const cJSON *list =
	    cJSON_GetObjectItemCaseSensitive(got->request, name);
	const cJSON *item;
	size_t used = 0;

	out[0] = '\0';
	assert_true(cJSON_IsArray(list));
	cJSON_ArrayForEach(item, list)
	{
		assert_true(cJSON_IsString(item));
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		                         used ? "," : "", item->valuestring);
	}
}

/* Every request carries an id of its own, which its system message
 * names. */
static void expect_request(struct admin_request *got, const char *actor,
                           const char *op)
{
	assert_string_equal(got->actor, actor);
	assert_string_equal(request_string(got, "op"), op);
	assert_true(strlen(request_string(got, "id")) > 0);
}

/* Copies text with every run of blanks squeezed to one space, for
 * comparing table rows without caring about column widths. */
static void squeeze(const char *text, char *out, size_t outlen)
{
	size_t used = 0;

	for (; *text && used + 1 < outlen; text++) {
		if (*text == ' ' && used > 0 && out[used - 1] == ' ')
			continue;
		if (*text == ' ' && used > 0 && out[used - 1] == '\n')
			continue;
		out[used++] = *text;
	}
	out[used] = '\0';
}

/* A group, a channel and a direct conversation, written as the bridge
 * and chatctl would have. */
static void prepare_conversations(struct cli_env *env)
{
	static const char sql[] =
	    "INSERT INTO users (id, kind, created_at) VALUES "
	    "('alice', 'user', 1), ('bob', 'user', 1), ('carol', 'user', 1);"
	    "INSERT INTO conversations (id, kind, title, broadcast, "
	    "created_at) VALUES ('c_g', 'group', 'climbing', 0, 1),"
	    "('c_ch', 'channel', 'news', 1, 2);"
	    "INSERT INTO conversations (id, kind, direct_key, created_at) "
	    "VALUES ('c_d', 'direct', 'alice/bob', 3);"
	    "INSERT INTO members (convo_id, user_id, role, joined_seq, "
	    "left_seq, delivered_seq, read_seq) VALUES "
	    "('c_g', 'carol', 'member', 21, 30, 30, 29),"
	    "('c_g', 'bob', 'member', 0, NULL, 25, 20),"
	    "('c_g', 'alice', 'admin', 0, NULL, 31, 28),"
	    "('c_ch', 'alice', 'admin', 0, NULL, 0, 0),"
	    "('c_ch', 'bob', 'member', 4, NULL, 0, 0),"
	    "('c_d', 'alice', 'member', 0, NULL, 0, 0),"
	    "('c_d', 'bob', 'member', 0, NULL, 0, 0);"
	    "INSERT INTO messages (convo_id, seq, id, sender, cmid, ts, type, "
	    "body) VALUES ('c_g', 31, 1, 'alice', 'm1', 1, NULL, 'hi');";
	sqlite3 *db = open_store(env);

	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* --- the tests --- */

static void test_commands_refuse_a_missing_database(void **state)
{
	static const char *const commands[][4] = {
	    {"user", "list"},           {"user", "add", "alice"},
	    {"device", "add", "alice"}, {"device", "list", "alice"},
	    {"device", "revoke", "1"},  {"convo", "direct", "alice", "bob"},
	    {"convo", "list"},          {"group", "add", "c_1", "bob"},
	    {"group", "members", "c_1"},
	};
	struct cli_env *env = *state;
	struct cli_result r;
	struct stat st;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		RUN(env, &r, commands[i][0], commands[i][1], commands[i][2],
		    commands[i][3]);
		expect_error(&r, "chatctl init");
		assert_string_equal(r.out, "");
	}
	assert_int_equal(stat(env->db, &st), -1);
}

static void test_database_path_comes_from_the_chat_plugin_lines(void **state)
{
	struct cli_env *env = *state;
	char other[160];
	struct stat st;

	init_store(env);
	assert_int_equal(stat(env->db, &st), 0);
	snprintf(other, sizeof(other), "%s/not-this.db", env->dir);
	assert_int_equal(stat(other, &st), -1);
}

static void test_db_option_overrides_the_configuration(void **state)
{
	struct cli_env *env = *state;
	struct cli_result r;
	char other[160];
	struct stat st;

	snprintf(other, sizeof(other), "%s/other.db", env->dir);
	RUN(env, &r, "--db", other, "init");
	expect_success(&r);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(stat(env->db, &st), -1);
}

static void test_init_creates_service_account_and_token_file(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 8];
	struct cli_result r;
	struct stat st;

	RUN(env, &r, "init");
	expect_success(&r);
	assert_int_equal(count_lines(r.out), 1);
	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM users WHERE id = ? "
	                            "AND kind = 'service'",
	                            "$bridge"),
	                 1);
	assert_int_equal(stat(env->token_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	read_file(env->token_file, token, sizeof(token));
	assert_int_equal(strlen(token), CHAT_TOKEN_LEN);
	assert_int_equal(devices_with_token(env, "$bridge", token, true), 1);
}

static void test_init_twice_keeps_the_token(void **state)
{
	struct cli_env *env = *state;
	char first[CHAT_TOKEN_LEN + 8], second[CHAT_TOKEN_LEN + 8];

	init_store(env);
	read_file(env->token_file, first, sizeof(first));
	init_store(env);
	read_file(env->token_file, second, sizeof(second));
	assert_string_equal(first, second);
	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM devices WHERE "
	                            "user_id = ?",
	                            "$bridge"),
	                 1);
}

static void test_init_replaces_a_stale_token_file(void **state)
{
	struct cli_env *env = *state;
	char old[CHAT_TOKEN_LEN + 8], fresh[CHAT_TOKEN_LEN + 8];

	init_store(env);
	read_file(env->token_file, old, sizeof(old));
	write_file(env->token_file, "not a token\n");
	init_store(env);
	read_file(env->token_file, fresh, sizeof(fresh));
	assert_int_equal(strlen(fresh), CHAT_TOKEN_LEN);
	assert_string_not_equal(old, fresh);
	assert_int_equal(devices_with_token(env, "$bridge", fresh, true), 1);
	/* Only one service token works at a time. */
	assert_int_equal(devices_with_token(env, "$bridge", old, true), 0);
	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM devices WHERE "
	                            "user_id = ? AND revoked_at IS NULL",
	                            "$bridge"),
	                 1);
}

static void test_init_replaces_a_revoked_service_token(void **state)
{
	struct cli_env *env = *state;
	char old[CHAT_TOKEN_LEN + 8], fresh[CHAT_TOKEN_LEN + 8];
	struct cli_result r;

	init_store(env);
	read_file(env->token_file, old, sizeof(old));
	RUN(env, &r, "device", "revoke", "1");
	expect_success(&r);
	init_store(env);
	read_file(env->token_file, fresh, sizeof(fresh));
	assert_string_not_equal(old, fresh);
	assert_int_equal(devices_with_token(env, "$bridge", fresh, true), 1);
}

static void test_user_add_prints_only_the_token(void **state)
{
	struct cli_env *env = *state;
	char wal[160];
	struct cli_result r;

	init_store(env);
	RUN(env, &r, "user", "add", "alice", "--label", "alice's phone");
	expect_success(&r);
	assert_true(is_token_line(r.out));
	assert_non_null(strstr(r.err, "shown once"));
	r.out[CHAT_TOKEN_LEN] = '\0';
	assert_int_equal(devices_with_token(env, "alice", r.out, true), 1);
	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM users WHERE id = ? "
	                            "AND kind = 'user'",
	                            "alice"),
	                 1);
	/* The token itself is nowhere in the store. */
	snprintf(wal, sizeof(wal), "%s-wal", env->db);
	assert_false(file_contains(env->db, r.out));
	assert_false(file_contains(wal, r.out));
}

static void test_user_add_refuses_an_existing_user(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 1];
	struct cli_result r;

	init_store(env);
	add_user(env, "alice", token);
	RUN(env, &r, "user", "add", "alice");
	expect_error(&r, "already exists");
	assert_string_equal(r.out, "");
	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM devices WHERE "
	                            "user_id = ?",
	                            "alice"),
	                 1);
}

static void test_hostile_user_ids_are_refused(void **state)
{
	static const char *const hostile[] = {
	    "",
	    ".alice",
	    "-alice",
	    "a/b",
	    "a+b",
	    "#",
	    "$SYS",
	    "$bridge",
	    "a b",
	    "a\tb",
	    "a\nb",
	    "a\x1b[2J",
	    "al\xc3\xa9",
	    "chat/u/+",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct cli_env *env = *state;
	struct cli_result r;

	init_store(env);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		RUN(env, &r, "user", "add", hostile[i]);
		expect_error(&r, NULL);
		assert_string_equal(r.out, "");
		/* Echoed ids are escaped: no raw control codes on stderr. */
		assert_null(strchr(r.err, '\x1b'));
	}
	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM users WHERE "
	                            "kind = ?",
	                            "user"),
	                 0);
}

static void test_device_add_issues_another_token(void **state)
{
	struct cli_env *env = *state;
	char first[CHAT_TOKEN_LEN + 1];
	struct cli_result r;

	init_store(env);
	add_user(env, "alice", first);
	RUN(env, &r, "device", "add", "alice", "--label", "laptop");
	expect_success(&r);
	assert_true(is_token_line(r.out));
	r.out[CHAT_TOKEN_LEN] = '\0';
	assert_string_not_equal(first, r.out);
	assert_int_equal(devices_with_token(env, "alice", r.out, true), 1);
	assert_int_equal(devices_with_token(env, "alice", first, true), 1);

	RUN(env, &r, "device", "add", "nobody");
	expect_error(&r, "no user");
	assert_string_equal(r.out, "");
}

static void test_device_list_shows_labels_and_state(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 1];
	struct cli_result r;

	init_store(env);
	add_user(env, "alice", token);
	RUN(env, &r, "device", "add", "alice", "--label", "laptop");
	expect_success(&r);
	RUN(env, &r, "device", "list", "alice");
	expect_success(&r);
	assert_non_null(strstr(r.out, "laptop"));
	assert_non_null(strstr(r.out, "active"));

	RUN(env, &r, "device", "add", "alice", "--label", "bad\x1b[2Jlabel");
	expect_error(&r, "label");
}

static void test_revoke_sets_revoked_at_once(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 1];
	char device[32];
	struct cli_result r;
	long long id;

	init_store(env);
	add_user(env, "alice", token);
	id = count_rows(env, "SELECT id FROM devices WHERE user_id = ?",
	                "alice");
	snprintf(device, sizeof(device), "%lld", id);
	RUN(env, &r, "device", "revoke", device);
	expect_success(&r);
	assert_int_equal(devices_with_token(env, "alice", token, true), 0);
	assert_int_equal(devices_with_token(env, "alice", token, false), 1);
	assert_true(count_rows(env,
	                       "SELECT revoked_at FROM devices WHERE "
	                       "user_id = ?",
	                       "alice") > 0);

	RUN(env, &r, "device", "revoke", device);
	expect_error(&r, "already revoked");
	RUN(env, &r, "device", "revoke", "999");
	expect_error(&r, "no device");
	RUN(env, &r, "device", "revoke", "1; DROP TABLE devices");
	expect_error(&r, "invalid device id");
	assert_int_equal(count_rows(env, "SELECT COUNT(*) FROM devices", NULL),
	                 2);
}

static void test_user_list_counts_active_devices(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 1];
	struct cli_result r;

	init_store(env);
	add_user(env, "alice", token);
	add_user(env, "bob", token);
	RUN(env, &r, "device", "add", "bob");
	expect_success(&r);
	RUN(env, &r, "user", "list");
	expect_success(&r);
	assert_non_null(strstr(r.out, "alice 1"));
	assert_non_null(strstr(r.out, "bob   2"));
	/* The service account is not a chat user. */
	assert_null(strstr(r.out, "$bridge"));
}

static void test_convo_direct_is_one_per_pair(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 1], first[80];
	struct cli_result r;

	init_store(env);
	add_user(env, "alice", token);
	add_user(env, "bob", token);
	RUN(env, &r, "convo", "direct", "bob", "alice");
	expect_success(&r);
	assert_int_equal(strncmp(r.out, "c_", 2), 0);
	assert_int_equal(strlen(r.out), 2 + 24 + 1);
	snprintf(first, sizeof(first), "%s", r.out);
	RUN(env, &r, "convo", "direct", "alice", "bob");
	expect_success(&r);
	assert_string_equal(r.out, first);

	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM conversations WHERE "
	                            "kind = 'direct' AND direct_key = ?",
	                            "alice/bob"),
	                 1);
	first[strlen(first) - 1] = '\0';
	assert_int_equal(count_rows(env,
	                            "SELECT COUNT(*) FROM members WHERE "
	                            "convo_id = ? AND joined_seq = 0 AND "
	                            "user_id IN ('alice', 'bob')",
	                            first),
	                 2);
}

static void test_convo_direct_refuses_bad_pairs(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 1];
	struct cli_result r;

	init_store(env);
	add_user(env, "alice", token);
	RUN(env, &r, "convo", "direct", "alice", "alice");
	expect_error(&r, "two different users");
	RUN(env, &r, "convo", "direct", "alice", "carol");
	expect_error(&r, "no user carol");
	RUN(env, &r, "convo", "direct", "alice", "$bridge");
	expect_error(&r, "invalid user id");
	RUN(env, &r, "convo", "direct", "alice", "b/+");
	expect_error(&r, "invalid user id");
	assert_int_equal(
	    count_rows(env, "SELECT COUNT(*) FROM conversations", NULL), 0);
}

static void test_convo_list_shows_members_and_head(void **state)
{
	struct cli_env *env = *state;
	char token[CHAT_TOKEN_LEN + 1], convo[80], insert[256];
	struct cli_result r;
	sqlite3 *db;

	init_store(env);
	add_user(env, "alice", token);
	add_user(env, "bob", token);
	add_user(env, "carol", token);
	RUN(env, &r, "convo", "direct", "alice", "bob");
	expect_success(&r);
	snprintf(convo, sizeof(convo), "%.*s", (int)strlen(r.out) - 1, r.out);
	/* The bridge's part: three stored messages. */
	db = open_store(env);
	for (int seq = 1; seq <= 3; seq++) {
		snprintf(insert, sizeof(insert),
		         "INSERT INTO messages (convo_id, seq, id, sender, cmid, ts,"
		         " body) VALUES ('%s', %d, %d, 'alice', "
		         "'m%d', 1, 'hi')",
		         convo, seq, seq, seq);
		assert_int_equal(sqlite3_exec(db, insert, NULL, NULL, NULL),
		                 SQLITE_OK);
	}
	sqlite3_close(db);

	RUN(env, &r, "convo", "list");
	expect_success(&r);
	assert_non_null(strstr(r.out, convo));
	assert_non_null(strstr(r.out, "direct"));
	assert_non_null(strstr(r.out, " 3 "));
	assert_non_null(strstr(r.out, "alice,bob"));
	RUN(env, &r, "convo", "list", "--user", "carol");
	expect_success(&r);
	assert_null(strstr(r.out, convo));
	RUN(env, &r, "convo", "list", "--user", "dave");
	expect_error(&r, "no user dave");
}

static void test_group_create_asks_the_bridge_as_the_owner(void **state)
{
	struct cli_env *env = *state;
	struct admin_request got = {0};
	struct cli_result r;
	char members[256];
	pid_t pid;

	init_store(env);
	pid = START(env, "group", "create", "climbing", "--member", "bob",
	            "--owner", "alice", "--member", "carol", "--channel");
	answer_request(env,
	               "{\"id\":\"x\",\"op\":\"create_group\",\"ok\":true,"
	               "\"convo\":\"c_new\",\"kind\":\"channel\",\"seq\":1}",
	               &got);
	collect(env, pid, &r);

	expect_success(&r);
	assert_string_equal(r.out, "c_new\n");
	expect_request(&got, "alice", "create_group");
	assert_string_equal(request_string(&got, "title"), "climbing");
	request_list(&got, "members", members, sizeof(members));
	assert_string_equal(members, "bob,carol");
	assert_true(cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(got.request, "channel")));
	cJSON_Delete(got.request);
}

static void test_group_create_without_members_is_a_plain_group(void **state)
{
	struct cli_env *env = *state;
	struct admin_request got = {0};
	struct cli_result r;
	char members[256];
	pid_t pid;

	init_store(env);
	pid = START(env, "group", "create", "solo", "--owner", "alice");
	answer_request(env,
	               "{\"ok\":true,\"convo\":\"c_solo\",\"kind\":\"group\","
	               "\"seq\":1}",
	               &got);
	collect(env, pid, &r);

	expect_success(&r);
	assert_string_equal(r.out, "c_solo\n");
	request_list(&got, "members", members, sizeof(members));
	assert_string_equal(members, "");
	assert_null(cJSON_GetObjectItemCaseSensitive(got.request, "channel"));
	cJSON_Delete(got.request);
}

/* One change through the fake bridge: checks the request, returns the
 * result. */
static void change_group(struct cli_env *env, pid_t pid, const char *response,
                         const char *actor, const char *op,
                         struct admin_request *got, struct cli_result *r)
{
	answer_request(env, response, got);
	collect(env, pid, r);
	expect_request(got, actor, op);
	assert_string_equal(request_string(got, "convo"), "c_g");
}

static void test_group_changes_print_one_line_summaries(void **state)
{
	struct cli_env *env = *state;
	struct admin_request got = {0};
	struct cli_result r;
	char users[256];

	init_store(env);
	change_group(env, START(env, "group", "add", "c_g", "carol", "dave"),
	             "{\"ok\":true,\"added\":[\"carol\",\"dave\"],\"seq\":7}",
	             "$admin", "add_members", &got, &r);
	expect_success(&r);
	assert_string_equal(r.out, "added carol, dave (seq 7)\n");
	request_list(&got, "users", users, sizeof(users));
	assert_string_equal(users, "carol,dave");
	cJSON_Delete(got.request);

	change_group(env,
	             START(env, "group", "add", "c_g", "carol", "--by", "bob"),
	             "{\"ok\":true,\"added\":[]}", "bob", "add_members", &got,
	             &r);
	expect_success(&r);
	assert_string_equal(r.out,
	                    "added nobody (all of them are members already)\n");
	cJSON_Delete(got.request);

	change_group(env, START(env, "group", "remove", "c_g", "dave"),
	             "{\"ok\":true,\"removed\":[\"dave\"],\"seq\":8}", "$admin",
	             "remove_members", &got, &r);
	expect_success(&r);
	assert_string_equal(r.out, "removed dave (seq 8)\n");
	cJSON_Delete(got.request);

	change_group(env, START(env, "group", "rename", "c_g", "new title"),
	             "{\"ok\":true,\"seq\":9}", "$admin", "rename", &got, &r);
	expect_success(&r);
	assert_string_equal(r.out, "renamed c_g to new title (seq 9)\n");
	assert_string_equal(request_string(&got, "title"), "new title");
	cJSON_Delete(got.request);

	change_group(env, START(env, "group", "role", "c_g", "carol", "admin"),
	             "{\"ok\":true,\"seq\":10}", "$admin", "set_role", &got,
	             &r);
	expect_success(&r);
	assert_string_equal(r.out, "carol is now admin of c_g (seq 10)\n");
	assert_string_equal(request_string(&got, "user"), "carol");
	assert_string_equal(request_string(&got, "role"), "admin");
	cJSON_Delete(got.request);
}

static void test_a_refusal_is_reported_with_its_code(void **state)
{
	struct cli_env *env = *state;
	struct admin_request got = {0};
	struct cli_result r;

	init_store(env);
	change_group(env,
	             START(env, "group", "add", "c_g", "carol", "--by", "bob"),
	             "{\"ok\":false,\"error\":{\"code\":\"not_admin\","
	             "\"message\":\"only admins may add members\"}}",
	             "bob", "add_members", &got, &r);
	expect_error(&r, NULL);
	assert_string_equal(r.err,
	                    "chatctl: not_admin: only admins may add members\n");
	assert_string_equal(r.out, "");
	cJSON_Delete(got.request);

	/* Whatever the answer holds cannot drive the terminal. */
	change_group(env, START(env, "group", "remove", "c_g", "carol"),
	             "{\"ok\":false,\"error\":{\"code\":\"internal\","
	             "\"message\":\"bad\\u001b[2J\"}}",
	             "$admin", "remove_members", &got, &r);
	expect_error(&r, "chatctl: internal: ");
	assert_null(strchr(r.err, '\x1b'));
	cJSON_Delete(got.request);
}

static void test_without_a_bridge_a_change_gives_up_and_is_withdrawn(
    void **state)
{
	struct cli_env *env = *state;
	struct cli_result r;
	long long started;

	init_store(env);
	setenv("CHATCTL_BRIDGE_WAIT_MS", "300", 1);
	started = now_ms();
	RUN(env, &r, "group", "add", "c_g", "carol");
	unsetenv("CHATCTL_BRIDGE_WAIT_MS");

	expect_error(&r, NULL);
	assert_string_equal(r.err, "chatctl: no bridge answered within 0.3 s; "
	                           "is the server running (make run)?\n");
	assert_string_equal(r.out, "");
	assert_true(now_ms() - started < BRIDGE_WAIT_MS);
	/* A bridge started later must not act on the abandoned request. */
	assert_int_equal(
	    count_rows(env, "SELECT COUNT(*) FROM admin_requests", NULL), 0);
}

static void test_a_bad_bridge_wait_is_refused(void **state)
{
	struct cli_env *env = *state;
	struct cli_result r;

	init_store(env);
	setenv("CHATCTL_BRIDGE_WAIT_MS", "soon", 1);
	RUN(env, &r, "group", "rename", "c_g", "x");
	unsetenv("CHATCTL_BRIDGE_WAIT_MS");
	expect_error(&r, "CHATCTL_BRIDGE_WAIT_MS");
	assert_int_equal(
	    count_rows(env, "SELECT COUNT(*) FROM admin_requests", NULL), 0);
}

static void test_group_arguments_are_checked_before_asking(void **state)
{
	static const char *const refused[][6] = {
	    {"group", "add", "c/+", "bob"},
	    {"group", "add", "c_g", "b b"},
	    {"group", "add", "c_g", "bob", "--by", "$bridge"},
	    {"group", "create", "t", "--owner", "a/b"},
	    {"group", "create", "", "--owner", "alice"},
	    {"group", "create", "t", "--owner", "alice", "--member"},
	};
	struct cli_env *env = *state;
	struct cli_result r;

	init_store(env);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		RUN(env, &r, refused[i][0], refused[i][1], refused[i][2],
		    refused[i][3], refused[i][4], refused[i][5]);
		assert_true(r.status == 1 || r.status == 2);
		assert_string_equal(r.out, "");
	}
	assert_int_equal(
	    count_rows(env, "SELECT COUNT(*) FROM admin_requests", NULL), 0);
}

static void test_group_members_lists_roles_joins_and_cursors(void **state)
{
	struct cli_env *env = *state;
	char table[OUTPUT_MAX];
	struct cli_result r;

	init_store(env);
	prepare_conversations(env);
	RUN(env, &r, "group", "members", "c_g");
	expect_success(&r);
	squeeze(r.out, table, sizeof(table));
	/* Current members in the order they joined, then former ones. */
	assert_string_equal(table, "USER ROLE JOINED LEFT DELIVERED READ\n"
	                           "alice admin 0 - 31 28\n"
	                           "bob member 0 - 25 20\n"
	                           "carol member 21 30 30 29\n");

	/* Channels keep no cursors per member. */
	RUN(env, &r, "group", "members", "c_ch");
	expect_success(&r);
	squeeze(r.out, table, sizeof(table));
	assert_string_equal(table, "USER ROLE JOINED LEFT DELIVERED READ\n"
	                           "alice admin 0 - - -\n"
	                           "bob member 4 - - -\n");

	RUN(env, &r, "group", "members", "c_none");
	expect_error(&r, "no conversation c_none");
	assert_string_equal(r.out, "");
}

static void test_convo_list_shows_groups_and_channels(void **state)
{
	struct cli_env *env = *state;
	char table[OUTPUT_MAX];
	struct cli_result r;

	init_store(env);
	prepare_conversations(env);
	RUN(env, &r, "convo", "list");
	expect_success(&r);
	squeeze(r.out, table, sizeof(table));
	assert_non_null(strstr(table, "CONVO KIND MODE HEAD MEMBERS NAME\n"));
	/* Members now: carol has left the group. */
	assert_non_null(strstr(table, "c_g group inbox 31 2 climbing\n"));
	assert_non_null(strstr(table, "c_ch channel broadcast 0 2 news\n"));
	assert_non_null(strstr(table, "c_d direct inbox 0 2 alice,bob\n"));

	RUN(env, &r, "convo", "list", "--user", "carol");
	expect_success(&r);
	assert_null(strstr(r.out, "c_g"));
	RUN(env, &r, "convo", "list", "--user", "bob");
	expect_success(&r);
	assert_non_null(strstr(r.out, "c_g"));
	assert_non_null(strstr(r.out, "c_ch"));
}

static void test_help_prints_the_usage_on_stdout(void **state)
{
	struct cli_env *env = *state;
	struct cli_result r;

	RUN(env, &r, "help");
	expect_success(&r);
	assert_non_null(strstr(r.out, "usage: chatctl"));
	RUN(env, &r, "--help");
	expect_success(&r);
	assert_non_null(strstr(r.out, "user add"));
}

static void test_usage_errors_exit_with_2(void **state)
{
	static const char *const commands[][6] = {
	    {"bogus"},
	    {"user"},
	    {"user", "remove", "x"},
	    {"user", "add"},
	    {"convo", "direct", "alice"},
	    {"group"},
	    {"group", "bogus"},
	    {"group", "create"},
	    {"group", "create", "t"},
	    {"group", "create", "t", "--owner"},
	    {"group", "create", "t", "--owner", "alice", "--bogus"},
	    {"group", "add", "c_g"},
	    {"group", "remove"},
	    {"group", "rename", "c_g"},
	    {"group", "role", "c_g", "bob"},
	    {"group", "role", "c_g", "bob", "owner"},
	    {"group", "members"},
	    {"group", "members", "c_g", "c_h"},
	};
	struct cli_env *env = *state;
	struct cli_result r;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		RUN(env, &r, commands[i][0], commands[i][1], commands[i][2],
		    commands[i][3], commands[i][4], commands[i][5]);
		assert_int_equal(r.status, 2);
		assert_non_null(strstr(r.err, "usage"));
		assert_string_equal(r.out, "");
	}
}

#define CLI_TEST(fn) cmocka_unit_test_setup_teardown(fn, make_env, remove_env)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CLI_TEST(test_commands_refuse_a_missing_database),
	    CLI_TEST(test_database_path_comes_from_the_chat_plugin_lines),
	    CLI_TEST(test_db_option_overrides_the_configuration),
	    CLI_TEST(test_init_creates_service_account_and_token_file),
	    CLI_TEST(test_init_twice_keeps_the_token),
	    CLI_TEST(test_init_replaces_a_stale_token_file),
	    CLI_TEST(test_init_replaces_a_revoked_service_token),
	    CLI_TEST(test_user_add_prints_only_the_token),
	    CLI_TEST(test_user_add_refuses_an_existing_user),
	    CLI_TEST(test_hostile_user_ids_are_refused),
	    CLI_TEST(test_device_add_issues_another_token),
	    CLI_TEST(test_device_list_shows_labels_and_state),
	    CLI_TEST(test_revoke_sets_revoked_at_once),
	    CLI_TEST(test_user_list_counts_active_devices),
	    CLI_TEST(test_convo_direct_is_one_per_pair),
	    CLI_TEST(test_convo_direct_refuses_bad_pairs),
	    CLI_TEST(test_convo_list_shows_members_and_head),
	    CLI_TEST(test_group_create_asks_the_bridge_as_the_owner),
	    CLI_TEST(test_group_create_without_members_is_a_plain_group),
	    CLI_TEST(test_group_changes_print_one_line_summaries),
	    CLI_TEST(test_a_refusal_is_reported_with_its_code),
	    CLI_TEST(test_without_a_bridge_a_change_gives_up_and_is_withdrawn),
	    CLI_TEST(test_a_bad_bridge_wait_is_refused),
	    CLI_TEST(test_group_arguments_are_checked_before_asking),
	    CLI_TEST(test_group_members_lists_roles_joins_and_cursors),
	    CLI_TEST(test_convo_list_shows_groups_and_channels),
	    CLI_TEST(test_help_prints_the_usage_on_stdout),
	    CLI_TEST(test_usage_errors_exit_with_2),
	};

	if (chat_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
