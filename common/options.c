#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_FILE_NAME "chat_plugin.so"

void chat_options_defaults(struct chat_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	snprintf(opts->db_path, sizeof(opts->db_path), "state/chat.db");
	snprintf(opts->topic_prefix, sizeof(opts->topic_prefix), "chat");
	snprintf(opts->service_user, sizeof(opts->service_user), "$bridge");
	snprintf(opts->service_client_id, sizeof(opts->service_client_id),
		 "chat-bridge");
	snprintf(opts->service_token_file, sizeof(opts->service_token_file),
		 "state/bridge.token");
	opts->node_id = 1;
	opts->max_envelope_bytes = 65536;
	opts->max_request_bytes = 65536;
	opts->max_pending = 900;
	opts->resend_window_ms = 10000;
	opts->sync_page_default = 100;
	opts->sync_page_max = 500;
	opts->page_max_bytes = 262144;
	opts->batch_max = 2000;
	opts->user_send_rate = 30;
	opts->user_send_burst = 100;
	opts->user_request_rate = 20;
	opts->user_request_burst = 50;
	opts->user_receipt_rate = 100;
	opts->user_receipt_burst = 200;
	opts->user_upload_rate = 64;
	opts->user_upload_burst = 128;
	opts->user_group_create_per_hour = 60;
	opts->user_group_create_burst = 20;
	opts->convo_delivery_rate = 20000;
	opts->group_fanout_max = 1024;
	opts->group_members_max = 100000;
	opts->channel_members_max = 100000;
	opts->presence_grace_ms = 5000;
	opts->presence_min_interval_ms = 2000;
	opts->typing_interval_ms = 1000;
	opts->blob_retention_ms = 86400000;
	opts->max_client_requests = 8;
	opts->max_requests = 100;
	opts->max_connections_per_user = 20;
	opts->max_subscriptions_per_connection = 1000;
	opts->auth_free_failures_per_user = 5;
	opts->auth_free_failures_per_address = 20;
	opts->auth_backoff_max_ms = 60000;
	opts->max_client_ids_per_user = 64;
	snprintf(opts->synchronous, sizeof(opts->synchronous), "full");
	snprintf(opts->listener_host, sizeof(opts->listener_host), "127.0.0.1");
	opts->listener_port = 1883;
}

static bool parse_long(const char *value, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool copy_string(char *dst, size_t dstlen, const char *value)
{
	size_t len = strlen(value);

	if (len == 0 || len >= dstlen)
		return false;
	memcpy(dst, value, len + 1);
	return true;
}

static bool valid_prefix(const char *p)
{
	size_t len = strlen(p);

	if (len == 0 || len > CHAT_PREFIX_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '-')
			return false;
	}
	return true;
}

struct long_option {
	const char *name;
	size_t offset;
	long min;
	long max;
};

#define LONG_OPTION(name, field, min, max)                                   \
	{                                                                    \
		name, offsetof(struct chat_options, field), min, max         \
	}

static const struct long_option long_options[] = {
	LONG_OPTION("max_envelope_bytes", max_envelope_bytes, 256, 16777216),
	LONG_OPTION("max_request_bytes", max_request_bytes, 256, 16777216),
	LONG_OPTION("max_pending", max_pending, 1, 10000000),
	LONG_OPTION("resend_window_ms", resend_window_ms, 0, 3600000),
	LONG_OPTION("sync_page_default", sync_page_default, 1, 10000),
	LONG_OPTION("sync_page_max", sync_page_max, 1, 10000),
	LONG_OPTION("page_max_bytes", page_max_bytes, 4096, 16777216),
	LONG_OPTION("batch_max", batch_max, 1, 1000000),
	LONG_OPTION("user_send_rate", user_send_rate, 1, 1000000),
	LONG_OPTION("user_send_burst", user_send_burst, 1, 1000000),
	LONG_OPTION("user_request_rate", user_request_rate, 1, 1000000),
	LONG_OPTION("user_request_burst", user_request_burst, 1, 1000000),
	LONG_OPTION("user_receipt_rate", user_receipt_rate, 1, 1000000),
	LONG_OPTION("user_receipt_burst", user_receipt_burst, 1, 1000000),
	LONG_OPTION("user_upload_rate", user_upload_rate, 1, 1000000),
	LONG_OPTION("user_upload_burst", user_upload_burst, 1, 1000000),
	LONG_OPTION("user_group_create_per_hour", user_group_create_per_hour,
		    1, 100000000),
	LONG_OPTION("user_group_create_burst", user_group_create_burst, 1,
		    1000000),
	LONG_OPTION("convo_delivery_rate", convo_delivery_rate, 1, 100000000),
	LONG_OPTION("group_fanout_max", group_fanout_max, 2, 1000000),
	LONG_OPTION("group_members_max", group_members_max, 2, 10000000),
	LONG_OPTION("channel_members_max", channel_members_max, 2, 10000000),
	LONG_OPTION("presence_grace_ms", presence_grace_ms, 0, 3600000),
	LONG_OPTION("presence_min_interval_ms", presence_min_interval_ms, 0,
		    3600000),
	LONG_OPTION("typing_interval_ms", typing_interval_ms, 0, 3600000),
	LONG_OPTION("blob_retention_ms", blob_retention_ms, 1000, 2147483647),
	LONG_OPTION("max_client_requests", max_client_requests, 1, 10000),
	LONG_OPTION("max_requests", max_requests, 1, 1000000),
	LONG_OPTION("max_connections_per_user", max_connections_per_user, 1,
		    1000000),
	LONG_OPTION("max_client_ids_per_user", max_client_ids_per_user, 1,
		    1000000),
	LONG_OPTION("max_subscriptions_per_connection",
		    max_subscriptions_per_connection, 1, 65535),
	LONG_OPTION("auth_free_failures_per_user", auth_free_failures_per_user,
		    1, 1000000000),
	LONG_OPTION("auth_free_failures_per_address",
		    auth_free_failures_per_address, 1, 1000000000),
	LONG_OPTION("auth_backoff_max_ms", auth_backoff_max_ms, 1000, 86400000),
};

static enum chat_option_result set_string_option(struct chat_options *opts,
						 const char *name,
						 const char *value)
{
	bool ok;

	if (strcmp(name, "database") == 0)
		ok = copy_string(opts->db_path, sizeof(opts->db_path), value);
	else if (strcmp(name, "topic_prefix") == 0)
		ok = valid_prefix(value) &&
		     copy_string(opts->topic_prefix,
				 sizeof(opts->topic_prefix), value);
	else if (strcmp(name, "service_user") == 0)
		ok = copy_string(opts->service_user,
				 sizeof(opts->service_user), value);
	else if (strcmp(name, "service_client_id") == 0)
		ok = copy_string(opts->service_client_id,
				 sizeof(opts->service_client_id), value);
	else if (strcmp(name, "service_token_file") == 0)
		ok = copy_string(opts->service_token_file,
				 sizeof(opts->service_token_file), value);
	else if (strcmp(name, "synchronous") == 0)
		ok = (strcmp(value, "full") == 0 ||
		      strcmp(value, "normal") == 0 ||
		      strcmp(value, "off") == 0) &&
		     copy_string(opts->synchronous, sizeof(opts->synchronous),
				 value);
	else
		return CHAT_OPTION_UNKNOWN;
	return ok ? CHAT_OPTION_OK : CHAT_OPTION_INVALID;
}

enum chat_option_result chat_options_set(struct chat_options *opts,
					 const char *name, const char *value)
{
	long v;

	if (strcmp(name, "node_id") == 0) {
		/* 1023 is the bridge's (common/idgen.h). */
		if (!parse_long(value, 0, 1022, &v))
			return CHAT_OPTION_INVALID;
		opts->node_id = (int)v;
		return CHAT_OPTION_OK;
	}
	for (size_t i = 0; i < sizeof(long_options) / sizeof(long_options[0]);
	     i++) {
		const struct long_option *lo = &long_options[i];

		if (strcmp(name, lo->name) != 0)
			continue;
		if (!parse_long(value, lo->min, lo->max, &v))
			return CHAT_OPTION_INVALID;
		*(long *)((char *)opts + lo->offset) = v;
		return CHAT_OPTION_OK;
	}
	return set_string_option(opts, name, value);
}

/* Splits "key value..." in place; returns false for blank and comment lines. */
static bool split_line(char *line, char **key, char **value)
{
	char *p = line;
	size_t len;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return false;
	*key = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	len = strlen(p);
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		p[--len] = '\0';
	*value = p;
	return true;
}

static bool is_chat_plugin_path(const char *path)
{
	size_t len = strlen(path), want = strlen(PLUGIN_FILE_NAME);

	if (len < want || strcmp(path + len - want, PLUGIN_FILE_NAME) != 0)
		return false;
	return len == want || path[len - want - 1] == '/';
}

/* The first listener tells the bridge where the broker is. */
static bool apply_listener(struct chat_options *opts, const char *value,
			   bool *seen)
{
	char port[16] = "", host[64] = "";
	long number;

	if (*seen)
		return true;
	if (sscanf(value, "%15s %63s", port, host) < 1 ||
	    !parse_long(port, 1, 65535, &number))
		return false;
	opts->listener_port = (int)number;
	if (host[0])
		snprintf(opts->listener_host, sizeof(opts->listener_host),
			 "%s", host);
	*seen = true;
	return true;
}

int chat_options_load_file(struct chat_options *opts, const char *path,
			   char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool in_chat_plugin = false, listener_seen = false;
	int lineno = 0, rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *key, *value;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
				 lineno);
			rc = -1;
			break;
		}
		if (!split_line(line, &key, &value))
			continue;
		if (strcmp(key, "plugin") == 0) {
			in_chat_plugin = is_chat_plugin_path(value);
		} else if (strcmp(key, "listener") == 0) {
			if (!apply_listener(opts, value, &listener_seen)) {
				snprintf(err, errlen, "%s:%d: bad listener",
					 path, lineno);
				rc = -1;
			}
		} else if (in_chat_plugin &&
			   strncmp(key, "plugin_opt_", 11) == 0) {
			if (chat_options_set(opts, key + 11, value) ==
			    CHAT_OPTION_INVALID) {
				snprintf(err, errlen, "%s:%d: bad value for %s",
					 path, lineno, key);
				rc = -1;
			}
		}
	}
	fclose(f);
	return rc;
}
