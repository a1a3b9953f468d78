/*
 * Identifier rules shared by the plugin, the bridge and the admin CLI.
 *
 * User and conversation ids end up inside MQTT topic levels, so they are
 * restricted to characters that can never act as a topic separator,
 * wildcard, `$` prefix or control code.
 */
#ifndef CHAT_IDS_H
#define CHAT_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define CHAT_ID_MAX 64	 /* user and conversation ids, in bytes */
#define CHAT_CMID_MAX 64 /* client message ids and request ids */

/* 1-64 of [A-Za-z0-9._-], starting with a letter or digit. */
bool chat_valid_user_id(const char *id);

/* Same alphabet as user ids. */
bool chat_valid_convo_id(const char *id);

/* 1-64 printable ASCII characters (0x21-0x7e): no spaces, no controls. */
bool chat_valid_cmid(const char *cmid);

/* Same rule as cmid. */
bool chat_valid_request_id(const char *id);

#endif
