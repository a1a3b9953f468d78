/*
 * What the generator sends and how it reads back what it receives.
 *
 * Every message is the send envelope of docs/PROTOCOL.md with a body of
 * exactly the configured size:
 *
 *   {"cmid":"s<sender>-<counter>",
 *    "body":"T<send ns> S<sender> K<counter> xxx…"}
 *
 * The plain broker relays these same bytes. The stamp at the start of the body
 * (send time, sender, counter) identifies a message in whatever carries it
 * back: a plain relay, a chat delivery, a sync page.
 *
 * The readers below are not a JSON parser: they look for fields by name in
 * the server's output, which is safe only because every body is the
 * generator's own (no quotes, no field names inside).
 */
#ifndef LOAD_ENVELOPE_H
#define LOAD_ENVELOPE_H

#include <stddef.h>

#define LOAD_STAMP_LEN    42 /* "T" 20 digits " S" 6 " K" 10 " " */
#define LOAD_ENVELOPE_MAX 2048
#define LOAD_BODY_MIN     LOAD_STAMP_LEN
#define LOAD_BODY_MAX     1900

struct load_stamp {
	long long send_ns;
	int sender;
	long long counter;
};

/* Writes the envelope into out (LOAD_ENVELOPE_MAX bytes); returns its
 * length. body_size is clamped to LOAD_BODY_MIN..LOAD_BODY_MAX. */
size_t load_envelope_write(char *out, const struct load_stamp *s,
                           int body_size);

/* Finds the first body stamp in text. Returns 0 or -1. */
int load_stamp_read(const char *text, size_t len, struct load_stamp *out);

/* The integer after "<name>": in text, e.g. name "seq". 0 or -1. */
int load_field_integer(const char *text, size_t len, const char *name,
                       long long *out);

/* The string value of "<name>":"…" in text, not copied. 0 or -1. */
int load_field_string(const char *text, size_t len, const char *name,
                      const char **value, size_t *value_len);

/* True when text holds "<name>":true. */
int load_field_true(const char *text, size_t len, const char *name);

/* How long to wait before repeating a send or request that the chat server
 * refused with this error code (busy, rate_limited, unavailable), or -1
 * when the code is not one to retry. */
int load_retry_pause_ms(const char *code, size_t len);

#endif
