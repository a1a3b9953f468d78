/*
 * chat-bridge: the store behind the chat plugin. It takes the messages the
 * plugin hands off, commits them to SQLite in batches, announces what was
 * committed, applies receipts, keeps presence, stores encrypted files,
 * answers clients' requests (sync, history, conversations, the group and
 * channel operations, presence and account, the key directory and files)
 * and runs the admin CLI's group commands.
 *
 *   chat-bridge -c mosquitto.conf [-h host] [-p port] [--db path] [-v]
 */
#include "connection.h"
#include "db.h"
#include "log.h"
#include "media.h"
#include "options.h"
#include "service.h"
#include "service_token.h"
#include "store.h"
#include "checkpoints.h"
#include "idgen.h"
#include "token.h"
#include "topics.h"

#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000
#define PASSWORD_MAX    512
/* How often the WAL is copied back into the database file. */
#define CHECKPOINT_INTERVAL_MS 1000

struct arguments {
	const char *config;
	const char *host;
	const char *db;
	int port; /* 0: from the listener line */
	bool verbose;
};

static volatile sig_atomic_t stop_requests;

static void on_stop_signal(int sig)
{
	(void)sig;
	if (stop_requests < 2)
		stop_requests++;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: chat-bridge -c FILE [-h HOST] [-p PORT] "
	        "[--db PATH] [-v]\n"
	        "  -c FILE    mosquitto.conf with the chat plugin's "
	        "options\n"
	        "  -h HOST    broker address (default: first listener)\n"
	        "  -p PORT    broker port (default: first listener)\n"
	        "  --db PATH  SQLite database (default: plugin_opt_database)\n"
	        "  -v         debug logging\n");
}

static bool parse_port(const char *text, int *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

/* Returns 0, 1 after --help, or -1 on a usage error (reported). */
static int parse_arguments(int argc, char **argv, struct arguments *args)
{
	memset(args, 0, sizeof(*args));
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(flag, "--help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(flag, "-v") == 0) {
			args->verbose = true;
			continue;
		}
		if (value == NULL)
			goto bad;
		i++;
		if (strcmp(flag, "-c") == 0)
			args->config = value;
		else if (strcmp(flag, "-h") == 0)
			args->host = value;
		else if (strcmp(flag, "--db") == 0)
			args->db = value;
		else if (strcmp(flag, "-p") != 0 ||
		         !parse_port(value, &args->port))
			goto bad;
	}
	if (args->config != NULL)
		return 0;
	fprintf(stderr, "chat-bridge: -c FILE is required\n");
	usage(stderr);
	return -1;
bad:
	usage(stderr);
	return -1;
}

static int load_options(const struct arguments *args, struct chat_options *opts)
{
	char err[512];

	chat_options_defaults(opts);
	if (chat_options_load_file(opts, args->config, err, sizeof(err))) {
		bridge_error("%s", err);
		return -1;
	}
	if (args->host != NULL) {
		if (strlen(args->host) >= sizeof(opts->listener_host)) {
			bridge_error("-h: host name too long");
			return -1;
		}
		strcpy(opts->listener_host, args->host);
	}
	if (args->port != 0)
		opts->listener_port = args->port;
	if (args->db != NULL) {
		if (args->db[0] == '\0' ||
		    strlen(args->db) >= sizeof(opts->db_path)) {
			bridge_error("--db: invalid path");
			return -1;
		}
		strcpy(opts->db_path, args->db);
	}
	/* A broker with the bridge's node id could stamp the id of a system
	 * message. */
	if (opts->node_id == CHAT_BRIDGE_NODE_ID) {
		bridge_error("plugin_opt_node_id %d is reserved for the "
		             "bridge's own messages; give the broker 0-%d",
		             CHAT_BRIDGE_NODE_ID, CHAT_BRIDGE_NODE_ID - 1);
		return -1;
	}
	return 0;
}

static int open_database(const struct chat_options *opts, sqlite3 **db,
                         struct bridge_store **store)
{
	char err[512];
	int rc;

	rc = chat_db_open(opts->db_path, CHAT_DB_READ_WRITE, opts->synchronous,
	                  BUSY_TIMEOUT_MS, db, err, sizeof(err));
	/* Checkpoints run on their own thread (checkpoints.h), which
	 * replaces SQLite's own hook on this connection. */
	if (rc == SQLITE_OK)
		rc = chat_db_migrate(*db, err, sizeof(err));
	if (rc == SQLITE_OK && (rc = bridge_store_open(*db, store)) != 0)
		snprintf(err, sizeof(err), "%s", sqlite3_errmsg(*db));
	if (rc == SQLITE_OK)
		return 0;
	bridge_error("cannot use the database %s: %s", opts->db_path, err);
	sqlite3_close(*db);
	*db = NULL;
	return -1;
}

static void handle_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must cut a wait in select() short. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A write past the file-size limit must fail (EFBIG, a storage
	 * error for the batch) instead of killing the bridge. */
	signal(SIGXFSZ, SIG_IGN);
}

static void log_start(const struct chat_options *opts)
{
	bridge_info("starting: database %s (synchronous %s), broker %s:%d as "
	            "%s (client id %s), topic prefix %s, batches of up to %ld",
	            opts->db_path, opts->synchronous, opts->listener_host,
	            opts->listener_port, opts->service_user,
	            opts->service_client_id, opts->topic_prefix,
	            opts->batch_max);
}

/* Files live next to the database. Their retention is a constant for
 * now; this is where an option would set it. */
static void open_media(const struct chat_options *opts,
                       struct bridge_media *media)
{
	if (bridge_media_open(media, opts->db_path) != 0)
		return;
	media->retention_ms = opts->blob_retention_ms;
	bridge_info("files in %s: at most %lld MiB each, %lld MiB per user, "
	            "deleted after %lld s unless a message refers to them",
	            media->blobs, media->file_max_bytes >> 20,
	            media->quota_bytes >> 20, media->retention_ms / 1000);
}

static int serve(const struct chat_options *opts, const char *password)
{
	struct chat_topics topics;
	struct bridge_service svc;
	struct bridge_media media;
	struct bridge_checkpoints checkpoints = {0};
	sqlite3 *db = NULL;
	int rc = -1;

	memset(&svc, 0, sizeof(svc));
	chat_topics_init(&topics, opts->topic_prefix);
	svc.opts = opts;
	svc.topics = &topics;
	svc.stop_requests = &stop_requests;
	if (open_database(opts, &db, &svc.store) != 0)
		goto done;
	if (bridge_checkpoints_start(&checkpoints, opts->db_path,
	                             opts->synchronous,
	                             CHECKPOINT_INTERVAL_MS) == 0)
		bridge_checkpoints_attach_writer(&checkpoints, db);
	open_media(opts, &media);
	svc.media = &media;
	bridge_service_init(&svc);
	if (bridge_connection_open(
	        opts, &topics, opts->listener_host, opts->listener_port,
	        password, bridge_service_deliver, bridge_service_acknowledged,
	        &svc, &svc.connection) != 0)
		goto done;
	bridge_service_run(&svc);
	rc = 0;
done:
	bridge_connection_close(svc.connection);
	bridge_service_free(&svc);
	bridge_store_close(svc.store);
	sqlite3_close(db);
	/* Last, so that its final checkpoint sees every commit. */
	bridge_checkpoints_stop(&checkpoints);
	return rc;
}

int main(int argc, char **argv)
{
	struct arguments args;
	struct chat_options opts;
	char password[PASSWORD_MAX];
	int rc = parse_arguments(argc, argv, &args);

	if (rc != 0)
		return rc > 0 ? 0 : 2;
	bridge_log_enable_debug(args.verbose);
	if (load_options(&args, &opts) != 0)
		return 1;
	if (bridge_read_service_token(opts.service_token_file, password,
	                              sizeof(password)) != 0)
		return 1;
	/* New conversation and upload ids are random; keys are checked. */
	if (chat_crypto_init() != 0) {
		bridge_error("cannot initialise the random number generator");
		return 1;
	}
	handle_stop_signals();
	mosquitto_lib_init();
	log_start(&opts);
	rc = serve(&opts, password);
	memset(password, 0, sizeof(password));
	mosquitto_lib_cleanup();
	bridge_info("%s",
	            rc == 0 ? "stopped" : "stopped after a start-up error");
	return rc == 0 ? 0 : 1;
}
