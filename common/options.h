/*
 * Configuration shared by the plugin, the bridge and the admin CLI.
 *
 * Everything is set with `plugin_opt_<name> <value>` lines under the chat
 * plugin's `plugin` line in mosquitto.conf. The broker hands those to the
 * plugin; the bridge and the CLI read the same file, so one file configures
 * the whole server. docs/CONFIGURATION.md lists every option.
 */
#ifndef CHAT_OPTIONS_H
#define CHAT_OPTIONS_H

#include <limits.h>
#include <stddef.h>

#define CHAT_PREFIX_MAX 32

struct chat_options {
	char db_path[PATH_MAX];
	char topic_prefix[CHAT_PREFIX_MAX + 1];
	char service_user[65];
	char service_client_id[65];
	char service_token_file[PATH_MAX];
	int node_id;
	long max_envelope_bytes;
	long max_request_bytes;
	long max_pending;
	long resend_window_ms;
	long sync_page_default;
	long sync_page_max;
	long page_max_bytes;
	long batch_max;
	long user_send_rate;	   /* messages per second per user */
	long user_send_burst;
	long user_request_rate;	   /* requests per second per user */
	long user_request_burst;
	long user_receipt_rate;	   /* receipts per second per user */
	long user_receipt_burst;
	long user_upload_rate;	   /* file chunks per second per user */
	long user_upload_burst;
	long user_group_create_per_hour; /* groups and channels created */
	long user_group_create_burst;
	long convo_delivery_rate;  /* deliveries per second per conversation */
	long group_fanout_max;	   /* members fanned out to inboxes */
	long group_members_max;
	long channel_members_max;
	long presence_grace_ms;	       /* no offline flap within this */
	long presence_min_interval_ms; /* between two changes of one user */
	long typing_interval_ms;       /* per user and conversation */
	long blob_retention_ms; /* files no message refers to, unfinished
				   uploads */
	long max_client_requests;  /* unanswered, per connection */
	long max_requests;	   /* unanswered, server-wide */
	long max_connections_per_user;
	long max_client_ids_per_user;
	long max_subscriptions_per_connection;
	long auth_free_failures_per_user;    /* before back-off starts */
	long auth_free_failures_per_address;
	long auth_backoff_max_ms;	     /* longest refusal period */
	char synchronous[8];

	/* From the first `listener` line; used by the bridge to connect. */
	char listener_host[64];
	int listener_port;
};

enum chat_option_result {
	CHAT_OPTION_OK = 0,
	CHAT_OPTION_UNKNOWN = 1,
	CHAT_OPTION_INVALID = -1,
};

void chat_options_defaults(struct chat_options *opts);

/* Applies one option by its name without the plugin_opt_ prefix. */
enum chat_option_result chat_options_set(struct chat_options *opts,
					 const char *name, const char *value);

/*
 * Reads mosquitto.conf: the plugin_opt_* lines that belong to the chat
 * plugin and the first listener. Returns 0, or -1 with a message in err.
 */
int chat_options_load_file(struct chat_options *opts, const char *path,
			   char *err, size_t errlen);

#endif
