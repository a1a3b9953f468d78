/*
 * Checks on untrusted JSON text before it is handed to cJSON.
 *
 * cJSON accepts any bytes inside strings and silently truncates a string at
 * an escaped NUL (\u0000). Bodies must reach recipients exactly as sent, so
 * payloads are refused up front when they are not valid UTF-8, contain a raw
 * NUL byte, or contain a \u0000 escape.
 */
#ifndef CHAT_TEXT_H
#define CHAT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* True when buf[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF) and holds no NUL byte. */
bool chat_utf8_valid(const char *buf, size_t len);

/* Deepest nesting of objects and arrays accepted from a client. cJSON
 * recurses once per level; the bound keeps every parser (and whatever
 * wraps a client's JSON) far from its own limits. */
#define CHAT_JSON_MAX_DEPTH 32

/* True when buf is valid UTF-8 per chat_utf8_valid, no JSON string in it
 * holds a raw control character or the escape \u0000, and objects and
 * arrays nest at most CHAT_JSON_MAX_DEPTH deep. */
bool chat_json_text_acceptable(const char *buf, size_t len);

/* The same with another depth bound, for text that wraps client JSON. */
bool chat_json_text_acceptable_depth(const char *buf, size_t len,
				     int max_depth);

/* True for the bytes a JSON string cannot hold as they are: controls,
 * quote and backslash. A table, because every byte of every body passes
 * through it, when checked and again when written. */
extern const bool chat_json_string_special[256];

/* Parses buf[0..len) as one JSON value followed by nothing but white
 * space; NULL otherwise (cJSON alone accepts trailing garbage). */
struct cJSON *chat_json_parse_exact(const char *buf, size_t len);

#endif
