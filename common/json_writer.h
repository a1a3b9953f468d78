/*
 * Writing JSON text into a growing buffer.
 *
 * What the bridge and the plugin send on hot paths is built here
 * rather than through a DOM: the byte count of a page is known while it is
 * being written, and key order is exactly the order of the calls. Commas are
 * placed automatically. A failed allocation makes the writer sticky-failed;
 * check json_writer_ok() once at the end.
 */
#ifndef CHAT_JSON_WRITER_H
#define CHAT_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_writer {
	char *data; /* NUL-terminated while ok */
	size_t len;
	size_t cap;
	bool failed;
	bool fresh;     /* just opened an object or array: no comma yet */
	bool after_key; /* a key was written: the value needs no comma */
};

void json_writer_init(struct json_writer *w);
/* Makes room for about `bytes` more at once: a text whose size is known
 * roughly then grows in one step instead of several. */
void json_writer_expect(struct json_writer *w, size_t bytes);
void json_writer_free(struct json_writer *w);

/* A position to come back to: rewinding forgets everything written since,
 * a failed allocation included, so a caller can write something else. */
struct json_writer_mark {
	size_t len;
	bool fresh;
	bool after_key;
};

struct json_writer_mark json_writer_mark(const struct json_writer *w);
void json_writer_rewind(struct json_writer *w, struct json_writer_mark mark);

/* Empties the writer, keeping its memory. */
void json_writer_reset(struct json_writer *w);

bool json_writer_ok(const struct json_writer *w);

void json_writer_open_object(struct json_writer *w);
void json_writer_close_object(struct json_writer *w);
void json_writer_open_array(struct json_writer *w);
void json_writer_close_array(struct json_writer *w);
void json_writer_key(struct json_writer *w, const char *key);

void json_writer_string(struct json_writer *w, const char *s);
void json_writer_int(struct json_writer *w, long long v);
/* An unsigned 64-bit value as a decimal string, for ids JavaScript would
 * round. */
void json_writer_uint_string(struct json_writer *w, uint64_t v);
void json_writer_bool(struct json_writer *w, bool v);
void json_writer_null(struct json_writer *w);

/* A value that is already JSON text, placed like any other value. */
void json_writer_fragment(struct json_writer *w, const char *json, size_t len);

/* Bytes outside the JSON grammar (the newline after a reply header). The
 * next value starts a new document: no comma is placed before it. */
void json_writer_raw(struct json_writer *w, const char *bytes, size_t len);

#endif
