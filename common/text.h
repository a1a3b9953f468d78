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

/* True when buf is valid UTF-8 per chat_utf8_valid and no JSON string in it
 * contains the escape \u0000. */
bool chat_json_text_acceptable(const char *buf, size_t len);

#endif
