/*
 * The broker-facing side of the plugin: mosquitto's event callbacks, which
 * translate each event for plugin/core.c and then hand the resulting
 * publishes to the broker.
 */
#ifndef CHAT_BROKER_H
#define CHAT_BROKER_H

#include "core.h"

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

/* Registers every callback; returns a MOSQ_ERR_* code. */
int chat_broker_register(mosquitto_plugin_id_t *id, struct chat_plugin *p);
void chat_broker_unregister(mosquitto_plugin_id_t *id);

/* Log sink writing through mosquitto's logger with a "chat: " prefix. */
void chat_broker_log(enum chat_log_level level, const char *line);

#endif
