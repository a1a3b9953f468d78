/*
 * Small readers over cJSON for what the server and other clients send:
 * they tolerate missing fields and wrong types by answering "absent".
 */
#ifndef CHAT_CLIENT_JSON_H
#define CHAT_CLIENT_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* The string member, or NULL when it is missing or not a string. */
const char *client_json_string(const cJSON *obj, const char *name);

/* A whole number from 0 to 2^53 (exact in a double). Returns 0 or -1. */
int client_json_integer(const cJSON *obj, const char *name, long long *out);

/* True only for a member that is the JSON literal true. */
bool client_json_true(const cJSON *obj, const char *name);

#endif
