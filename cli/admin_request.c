/*
 * Requests the bridge carries out for the CLI. Group changes must get
 * their system message, and only the bridge writes messages, so chatctl
 * stores the request in admin_requests and waits for the bridge to fill in
 * the response. Every read is its own short transaction: the bridge, which
 * writes the answer, is never kept waiting.
 */
#include "chatctl.h"

#include "db.h"
#include "ids.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The environment variable that shortens (or stretches) the wait. */
#define WAIT_VARIABLE "CHATCTL_BRIDGE_WAIT_MS"
#define WAIT_MS_LIMIT 3600000L

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Ctrl-C while waiting withdraws the request instead of leaving it for a
 * bridge that may run it much later. */
static void catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int wait_ms(long *ms)
{
	const char *text = getenv(WAIT_VARIABLE);
	char *end;

	*ms = CHATCTL_BRIDGE_WAIT_MS;
	if (text == NULL || text[0] == '\0')
		return 0;
	errno = 0;
	*ms = strtol(text, &end, 10);
	if (errno == 0 && *end == '\0' && *ms > 0 && *ms <= WAIT_MS_LIMIT)
		return 0;
	chatctl_error("invalid %s: milliseconds from 1 to %ld", WAIT_VARIABLE,
	              WAIT_MS_LIMIT);
	return -1;
}

/* The wait is measured on the monotonic clock: setting the wall clock
 * while chatctl waits neither ends nor prolongs it. */
static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	/* A signal ends the nap early; the loop then looks at `interrupted`. */
	nanosleep(&ts, NULL);
}

static int insert_request(struct chatctl *ctl, const char *actor,
                          const char *text, long long *row)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "INSERT INTO admin_requests (actor, request, created_at) "
	         "VALUES (?, ?, ?)");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, chat_now_ms());
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		*row = sqlite3_last_insert_rowid(ctl->db);
	else
		chatctl_store_failed(ctl, "storing the request for the bridge");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Reads the row once. Returns 1 with *response set when the bridge has
 * answered, 0 while it has not, -1 on a store error, a vanished row or an
 * answer without a response.
 */
static int read_answer(struct chatctl *ctl, long long row, char **response)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "SELECT response, done_at IS NOT NULL FROM admin_requests "
	         "WHERE id = ?");
	const unsigned char *text;
	int rc, answered = -1;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, row);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		text = sqlite3_column_text(stmt, 0);
		answered = sqlite3_column_int(stmt, 1) != 0;
		if (answered && text == NULL) {
			chatctl_error("the bridge finished request %lld "
			              "without an answer",
			              row);
			answered = -1;
		} else if (answered &&
		           (*response = strdup((const char *)text)) == NULL) {
			chatctl_error("out of memory");
			answered = -1;
		}
	} else if (rc == SQLITE_DONE) {
		chatctl_error("request %lld vanished from admin_requests", row);
	} else {
		chatctl_store_failed(ctl, "reading the bridge's answer");
	}
	sqlite3_finalize(stmt);
	return answered;
}

/* Removes the request unless the bridge got to it. Returns 1 when it was
 * withdrawn, 0 when it had been answered in the meantime, -1 on error. */
static int withdraw(struct chatctl *ctl, long long row)
{
	sqlite3_stmt *stmt = chatctl_store_prepare(
	    ctl, "DELETE FROM admin_requests WHERE id = ? AND done_at IS NULL");
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, row);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return chatctl_store_failed(ctl, "withdrawing the request");
	return sqlite3_changes(ctl->db) > 0 ? 1 : 0;
}

/* Polls until the bridge answers, time runs out or the operator gives up.
 * Returns 1 with *response, 0 when nothing came, -1 on error. */
static int poll_answer(struct chatctl *ctl, long long row, long timeout_ms,
                       char **response)
{
	long long deadline = monotonic_ms() + timeout_ms;
	int answered;

	while ((answered = read_answer(ctl, row, response)) == 0 &&
	       !interrupted && monotonic_ms() < deadline)
		sleep_ms(CHATCTL_BRIDGE_POLL_MS);
	return answered;
}

static void report_no_answer(long timeout_ms)
{
	if (interrupted) {
		chatctl_error("interrupted; the request was withdrawn");
		return;
	}
	chatctl_error("no bridge answered within %g s; is the server running "
	              "(make run)?",
	              (double)timeout_ms / 1000.0);
}

/* Waits for the answer to the stored request; on no answer the request is
 * withdrawn, so that a bridge started later does not act on it. */
static int await_answer(struct chatctl *ctl, long long row, long timeout_ms,
                        char **response)
{
	int answered = poll_answer(ctl, row, timeout_ms, response);

	if (answered != 0)
		return answered > 0 ? 0 : -1;
	switch (withdraw(ctl, row)) {
	case 1:
		report_no_answer(timeout_ms);
		return -1;
	case 0: /* answered between the last look and the delete */
		return read_answer(ctl, row, response) > 0 ? 0 : -1;
	default:
		return -1;
	}
}

static int parse_answer(const char *text, cJSON **response)
{
	*response = cJSON_Parse(text);
	if (cJSON_IsObject(*response))
		return 0;
	cJSON_Delete(*response);
	*response = NULL;
	chatctl_error("the bridge's answer is not a JSON object");
	return -1;
}

/*
 * Stores the request (with a fresh request id of its own, so that its
 * system message names it) for the bridge to run as actor, and waits.
 */
int chatctl_admin_request(struct chatctl *ctl, const char *actor,
                          const cJSON *request, cJSON **response)
{
	char id[CHAT_CMID_MAX + 1], *text = NULL, *answer = NULL;
	cJSON *copy = cJSON_Duplicate(request, true);
	long long row = 0;
	long timeout_ms;
	int rc = -1;

	*response = NULL;
	if (wait_ms(&timeout_ms) != 0 || copy == NULL)
		goto cleanup;
	chat_random_id("chatctl-", id, sizeof(id));
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
	if (cJSON_AddStringToObject(copy, "id", id) == NULL ||
	    (text = cJSON_PrintUnformatted(copy)) == NULL) {
		chatctl_error("out of memory");
		goto cleanup;
	}
	catch_interrupts();
	if (insert_request(ctl, actor, text, &row) != 0 ||
	    await_answer(ctl, row, timeout_ms, &answer) != 0)
		goto cleanup;
	rc = parse_answer(answer, response);
cleanup:
	free(answer);
	free(text);
	cJSON_Delete(copy);
	return rc;
}
