/*
 * Entry points mosquitto calls: version negotiation, start-up with the
 * plugin_opt_* options from mosquitto.conf, and shutdown.
 */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mosquitto_plugin_id_t *plugin_id;

int mosquitto_plugin_version(int supported_version_count,
			     const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++)
		if (supported_versions[i] == 5)
			return 5;
	return -1;
}

/* Reads plugin_opt_* lines; an invalid value stops the broker. */
static int read_options(struct chat_options *opts, struct mosquitto_opt *list,
			int count)
{
	chat_options_defaults(opts);
	for (int i = 0; i < count; i++) {
		switch (chat_options_set(opts, list[i].key, list[i].value)) {
		case CHAT_OPTION_OK:
			break;
		case CHAT_OPTION_UNKNOWN:
			mosquitto_log_printf(MOSQ_LOG_WARNING,
					     "chat: ignoring unknown option "
					     "plugin_opt_%s",
					     list[i].key);
			break;
		case CHAT_OPTION_INVALID:
			mosquitto_log_printf(MOSQ_LOG_ERR,
					     "Error: chat: invalid value '%s' "
					     "for plugin_opt_%s",
					     list[i].value, list[i].key);
			return MOSQ_ERR_INVAL;
		}
	}
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
			  struct mosquitto_opt *options, int option_count)
{
	struct chat_options opts;
	struct chat_plugin *p;
	int rc;

	rc = read_options(&opts, options, option_count);
	if (rc != MOSQ_ERR_SUCCESS)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return MOSQ_ERR_NOMEM;
	chat_outbox_use_allocator(mosquitto_malloc, mosquitto_free);
	if (chat_plugin_setup(p, &opts, chat_broker_log) != 0) {
		free(p);
		return MOSQ_ERR_NOMEM;
	}
	plugin_id = identifier;
	rc = chat_broker_register(identifier, p);
	if (rc != MOSQ_ERR_SUCCESS) {
		chat_broker_unregister(identifier);
		chat_plugin_teardown(p);
		free(p);
		return rc;
	}
	*userdata = p;
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			     "chat: plugin ready: database %s, topic prefix "
			     "'%s', service account '%s' (client id '%s'), "
			     "node %d",
			     opts.db_path, opts.topic_prefix, opts.service_user,
			     opts.service_client_id, opts.node_id);
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
			     int option_count)
{
	struct chat_plugin *p = userdata;

	(void)options;
	(void)option_count;
	if (plugin_id)
		chat_broker_unregister(plugin_id);
	if (p) {
		chat_plugin_teardown(p);
		free(p);
	}
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "chat: plugin stopped");
	return MOSQ_ERR_SUCCESS;
}
