/*
 * chat: global options, then one command (see usage()). Every command that
 * talks to the server first sends again what an earlier run left in the
 * outbox.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SEND_WAIT_MS   30000
#define FLUSH_WAIT_MS  15000
#define LISTEN_POLL_MS 500
#define TOKEN_FILE_MAX 512

struct globals {
	const char *host;
	int port;
	char state_path[PATH_MAX];
};

struct command {
	const char *name;
	int (*run)(struct globals *g, int argc, char **argv);
};

static volatile sig_atomic_t stopping;

static void usage(void)
{
	fputs("usage: chat [-h host] [-p port] [-s state.db] command ...\n"
	      "\n"
	      "  init --user U (--token T | --token-file F) [--identity F]\n"
	      "  export-identity FILE\n"
	      "  conversations\n"
	      "  send CONVO TEXT\n"
	      "  send-file CONVO PATH [--type MIME] [--progress]\n"
	      "  get-file CONVO SEQ OUT\n"
	      "  listen [--read] [--json]\n"
	      "  sync [--json]\n"
	      "  read CONVO\n"
	      "  safety USER\n"
	      "  trust USER\n"
	      "  resend-request CONVO SEQ\n"
	      "\n"
	      "The state file defaults to $CHAT_STATE, else\n"
	      "~/.local/share/chat/state.db.\n",
	      stderr);
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* ---- helpers ---- */

static int parse_seq(const char *text, long long *seq)
{
	char *end;

	errno = 0;
	*seq = strtoll(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *seq >= 1 ? 0 : -1;
}

static struct chat_client *open_client(struct globals *g)
{
	struct chat_client *c = NULL;
	char err[1024];

	if (chat_client_open(g->state_path, &c, err, sizeof(err)) != CHAT_OK) {
		cli_error("%s", err);
		return NULL;
	}
	chat_client_set_server(c, g->host, g->port);
	chat_client_on_notice(c, cli_print_notice, NULL);
	return c;
}

/* Opens and connects; NULL after printing why. */
static struct chat_client *connect_client(struct globals *g, bool durable)
{
	struct chat_client *c = open_client(g);

	if (c != NULL && chat_client_connect(c, durable) != CHAT_OK) {
		cli_error("%s", chat_client_error(c));
		chat_client_close(c);
		return NULL;
	}
	return c;
}

/* Closes the client with the command's outcome as the exit status. */
static int finish(struct chat_client *c, int rc)
{
	int status = CLI_OK;

	if (rc != CHAT_OK) {
		cli_error("%s", chat_client_error(c));
		status = CLI_FAILED;
	}
	chat_client_close(c);
	return status;
}

/* Waits for a sent message's tick. */
static int wait_tick(struct chat_client *c, const char *convo, const char *cmid)
{
	int rc = chat_client_wait_sent(c, convo, cmid, SEND_WAIT_MS);

	if (rc == CHAT_ERR_NETWORK) {
		cli_error("%s", chat_client_error(c));
		chat_client_close(c);
		return CLI_QUEUED;
	}
	if (rc == CHAT_OK)
		printf("%s\n", cmid);
	return finish(c, rc);
}

static int read_token_file(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	len = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[len] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* ---- commands ---- */

static int run_init(struct globals *g, int argc, char **argv)
{
	struct chat_init_options o = {g->state_path, g->host, g->port, NULL,
	                              NULL,          NULL,    0};
	char token[TOKEN_FILE_MAX] = "", err[1024];
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (value == NULL)
			goto bad;
		if (strcmp(argv[i], "--user") == 0)
			o.user = value;
		else if (strcmp(argv[i], "--token") == 0)
			o.token = value;
		else if (strcmp(argv[i], "--identity") == 0)
			o.identity_file = value;
		else if (strcmp(argv[i], "--token-file") != 0)
			goto bad;
		else if (read_token_file(value, token, sizeof(token)) == 0)
			o.token = token;
		else
			return CLI_FAILED;
		i++;
	}
	if (o.user == NULL || o.token == NULL)
		goto bad;
	rc = chat_client_init(&o, err, sizeof(err));
	memset(token, 0, sizeof(token));
	if (rc != CHAT_OK) {
		cli_error("%s", err);
		return CLI_FAILED;
	}
	fprintf(stderr, "chat: %s is set up for %s\n", g->state_path, o.user);
	return CLI_OK;
bad:
	usage();
	return CLI_USAGE;
}

static int run_export_identity(struct globals *g, int argc, char **argv)
{
	struct chat_client *c;

	if (argc != 2) {
		usage();
		return CLI_USAGE;
	}
	c = open_client(g);
	if (c == NULL)
		return CLI_FAILED;
	return finish(c, chat_client_export_identity(c, argv[1]));
}

static int run_conversations(struct globals *g, int argc, char **argv)
{
	struct chat_client *c;

	(void)argv;
	if (argc != 1) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	return finish(
	    c, chat_client_conversations(c, cli_print_conversation, NULL));
}

static int run_send(struct globals *g, int argc, char **argv)
{
	char cmid[CHAT_CMID_SIZE];
	struct chat_client *c;
	int rc;

	if (argc != 3) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	rc = chat_client_send_text(c, argv[1], argv[2], cmid);
	if (rc != CHAT_OK)
		return finish(c, rc);
	return wait_tick(c, argv[1], cmid);
}

static int print_progress(void *ctx, long long done, long long total)
{
	(void)ctx;
	fprintf(stderr, "upload: %lld of %lld bytes\n", done, total);
	return stopping ? 1 : 0;
}

static int run_send_file(struct globals *g, int argc, char **argv)
{
	const char *type = NULL;
	bool progress = false;
	char cmid[CHAT_CMID_SIZE];
	struct chat_client *c;
	int rc;

	if (argc < 3) {
		usage();
		return CLI_USAGE;
	}
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
			type = argv[++i];
		} else if (strcmp(argv[i], "--progress") == 0) {
			progress = true;
		} else {
			usage();
			return CLI_USAGE;
		}
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	rc =
	    chat_client_send_file(c, argv[1], argv[2], type,
	                          progress ? print_progress : NULL, NULL, cmid);
	if (rc != CHAT_OK)
		return finish(c, rc);
	return wait_tick(c, argv[1], cmid);
}

static int run_get_file(struct globals *g, int argc, char **argv)
{
	struct chat_client *c;
	long long seq;
	int rc;

	if (argc != 4 || parse_seq(argv[2], &seq) != 0) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	rc = chat_client_get_file(c, argv[1], seq, argv[3]);
	if (rc == CHAT_OK)
		printf("%s\n", argv[3]);
	return finish(c, rc);
}

/* Catches up and shows everything held but not shown yet; listen and
 * sync start this way. */
static int catch_up(struct chat_client *c)
{
	int rc = chat_client_resume_uploads(c);

	if (rc != CHAT_OK)
		cli_error("%s", chat_client_error(c));
	return chat_client_sync(c);
}

static int parse_output_flags(int argc, char **argv, struct cli_output *out,
                              bool *read)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			out->json = true;
		else if (read != NULL && strcmp(argv[i], "--read") == 0)
			*read = true;
		else
			return -1;
	}
	return 0;
}

static int run_listen(struct globals *g, int argc, char **argv)
{
	struct cli_output out = {false};
	struct chat_client *c;
	bool read = false;
	int rc;

	if (parse_output_flags(argc, argv, &out, &read) != 0) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, true);
	if (c == NULL)
		return CLI_FAILED;
	chat_client_on_message(c, cli_print_message, &out);
	chat_client_set_receipts(c, read ? CHAT_RECEIPTS_READ
	                                 : CHAT_RECEIPTS_DELIVERED);
	rc = catch_up(c);
	if (rc != CHAT_OK)
		return finish(c, rc);
	fprintf(stderr, "chat: listening as %s (device %s)\n",
	        chat_client_user(c), chat_client_device(c));
	while (!stopping && rc == CHAT_OK)
		rc = chat_client_poll(c, LISTEN_POLL_MS);
	return finish(c, rc);
}

static int run_sync(struct globals *g, int argc, char **argv)
{
	struct cli_output out = {false};
	struct chat_client *c;
	int rc;

	if (parse_output_flags(argc, argv, &out, NULL) != 0) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	chat_client_on_message(c, cli_print_message, &out);
	rc = catch_up(c);
	/* What an earlier run left in the outbox gets its tick now. */
	if (rc == CHAT_OK && chat_client_flush(c, FLUSH_WAIT_MS) != CHAT_OK) {
		cli_error("%s", chat_client_error(c));
		chat_client_close(c);
		return CLI_QUEUED;
	}
	return finish(c, rc);
}

static int run_read(struct globals *g, int argc, char **argv)
{
	struct chat_client *c;
	long long seq = 0;
	int rc;

	if (argc != 2) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	rc = chat_client_mark_read(c, argv[1], &seq);
	if (rc == CHAT_OK)
		printf("%s read up to #%lld\n", argv[1], seq);
	return finish(c, rc);
}

static int run_safety(struct globals *g, int argc, char **argv)
{
	struct chat_safety s;
	struct chat_client *c;
	int rc;

	if (argc != 2) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	rc = chat_client_safety(c, argv[1], &s);
	if (rc == CHAT_OK) {
		printf("%-16s %s\n%-16s %s\n", s.user[0], s.fingerprint[0],
		       s.user[1], s.fingerprint[1]);
		if (s.changed)
			cli_error("warning: %s's identity key on the server "
			          "has changed to %s; nothing is sent to %s "
			          "until `chat trust %s`",
			          argv[1], s.changed_fingerprint, argv[1],
			          argv[1]);
	}
	return finish(c, rc);
}

static int run_trust(struct globals *g, int argc, char **argv)
{
	char fingerprint[CHAT_FINGERPRINT_SIZE];
	struct chat_client *c;
	int rc;

	if (argc != 2) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	rc = chat_client_trust(c, argv[1], fingerprint);
	if (rc == CHAT_OK)
		printf("%-16s %s (trusted)\n", argv[1], fingerprint);
	return finish(c, rc);
}

static int run_resend_request(struct globals *g, int argc, char **argv)
{
	struct chat_client *c;
	long long seq;
	int rc;

	if (argc != 3 || parse_seq(argv[2], &seq) != 0) {
		usage();
		return CLI_USAGE;
	}
	c = connect_client(g, false);
	if (c == NULL)
		return CLI_FAILED;
	rc = chat_client_request_resend(c, argv[1], seq);
	return finish(c,
	              rc == CHAT_OK ? chat_client_flush(c, SEND_WAIT_MS) : rc);
}

static const struct command commands[] = {
    {"init", run_init},
    {"export-identity", run_export_identity},
    {"conversations", run_conversations},
    {"send", run_send},
    {"send-file", run_send_file},
    {"get-file", run_get_file},
    {"listen", run_listen},
    {"sync", run_sync},
    {"read", run_read},
    {"safety", run_safety},
    {"trust", run_trust},
    {"resend-request", run_resend_request},
};

/* ---- global options ---- */

static int default_state_path(char *out, size_t outlen)
{
	const char *env = getenv("CHAT_STATE"), *home = getenv("HOME");
	char dir[PATH_MAX];

	if (env != NULL && env[0] != '\0') {
		snprintf(out, outlen, "%s", env);
		return 0;
	}
	if (home == NULL || home[0] == '\0') {
		cli_error("no state file: give -s, or set CHAT_STATE or HOME");
		return -1;
	}
	/* Only the user may read it: it holds secret keys. */
	snprintf(dir, sizeof(dir), "%.4000s/.local", home);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%.4000s/.local/share", home);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%.4000s/.local/share/chat", home);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(out, outlen, "%.4000s/state.db", dir);
	return 0;
}

static int parse_globals(int argc, char **argv, struct globals *g, int *next)
{
	const char *state = NULL;
	int i;

	memset(g, 0, sizeof(*g));
	for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			return -1;
		if (strcmp(argv[i], "-h") == 0)
			g->host = argv[i + 1];
		else if (strcmp(argv[i], "-p") == 0)
			g->port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-s") == 0)
			state = argv[i + 1];
		else
			return -1;
	}
	if (i >= argc || g->port < 0 || g->port > 65535)
		return -1;
	*next = i;
	if (state != NULL) {
		snprintf(g->state_path, sizeof(g->state_path), "%s", state);
		return 0;
	}
	return default_state_path(g->state_path, sizeof(g->state_path)) == 0
	           ? 0
	           : 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct globals g;
	int next, rc;

	rc = parse_globals(argc, argv, &g, &next);
	if (rc != 0) {
		if (rc < 0)
			usage();
		return rc < 0 ? CLI_USAGE : CLI_FAILED;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[next]) == 0)
			return commands[i].run(&g, argc - next, argv + next);
	usage();
	return CLI_USAGE;
}
