#include "json_writer.h"

#include "text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_writer_init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->fresh = true;
}

void json_writer_free(struct json_writer *w)
{
	free(w->data);
	json_writer_init(w);
}

struct json_writer_mark json_writer_mark(const struct json_writer *w)
{
	struct json_writer_mark mark = {w->len, w->fresh, w->after_key};

	return mark;
}

void json_writer_rewind(struct json_writer *w, struct json_writer_mark mark)
{
	if (mark.len < w->len)
		w->len = mark.len;
	if (w->data)
		w->data[w->len] = '\0';
	w->failed = false;
	w->fresh = mark.fresh;
	w->after_key = mark.after_key;
}

void json_writer_reset(struct json_writer *w)
{
	struct json_writer_mark start = {0, true, false};

	json_writer_rewind(w, start);
}

bool json_writer_ok(const struct json_writer *w)
{
	return !w->failed;
}

/* Makes room for more bytes plus the terminating NUL. */
static bool reserve(struct json_writer *w, size_t more)
{
	size_t need, cap;
	char *grown;

	if (w->failed)
		return false;
	if (more > SIZE_MAX / 2 - w->len - 1)
		goto fail;
	need = w->len + more + 1;
	if (need <= w->cap)
		return true;
	cap = w->cap ? w->cap : 256;
	while (cap < need)
		cap *= 2;
	grown = realloc(w->data, cap);
	if (grown == NULL)
		goto fail;
	w->data = grown;
	w->cap = cap;
	return true;
fail:
	w->failed = true;
	return false;
}

void json_writer_expect(struct json_writer *w, size_t bytes)
{
	reserve(w, bytes);
}

static void append(struct json_writer *w, const char *bytes, size_t len)
{
	if (!reserve(w, len))
		return;
	memcpy(w->data + w->len, bytes, len);
	w->len += len;
	w->data[w->len] = '\0';
}

/* Places the comma a value or key needs, if any. */
static void separate(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->fresh)
		append(w, ",", 1);
	w->fresh = false;
}

void json_writer_open_object(struct json_writer *w)
{
	separate(w);
	append(w, "{", 1);
	w->fresh = true;
}

void json_writer_close_object(struct json_writer *w)
{
	append(w, "}", 1);
	w->fresh = false;
}

void json_writer_open_array(struct json_writer *w)
{
	separate(w);
	append(w, "[", 1);
	w->fresh = true;
}

void json_writer_close_array(struct json_writer *w)
{
	append(w, "]", 1);
	w->fresh = false;
}

static void append_escape(struct json_writer *w, unsigned char c)
{
	char code[8];

	switch (c) {
	case '"':
		append(w, "\\\"", 2);
		return;
	case '\\':
		append(w, "\\\\", 2);
		return;
	case '\n':
		append(w, "\\n", 2);
		return;
	case '\r':
		append(w, "\\r", 2);
		return;
	case '\t':
		append(w, "\\t", 2);
		return;
	}
	snprintf(code, sizeof(code), "\\u%04x", c);
	append(w, code, 6);
}

/* Bytes other than quotes, backslashes and controls are copied as they are:
 * text reaching the bridge has been checked to be UTF-8. */
static void append_quoted(struct json_writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	append(w, "\"", 1);
	while (*p) {
		const unsigned char *run = p;

		while (!chat_json_string_special[*p])
			p++;
		append(w, (const char *)run, (size_t)(p - run));
		if (*p)
			append_escape(w, *p++);
	}
	append(w, "\"", 1);
}

void json_writer_key(struct json_writer *w, const char *key)
{
	separate(w);
	append_quoted(w, key);
	append(w, ":", 1);
	w->after_key = true;
}

void json_writer_string(struct json_writer *w, const char *s)
{
	separate(w);
	append_quoted(w, s);
}

/* The decimal digits of v, written backwards from end; returns where they
 * start. Numbers are written for every message: snprintf costs more. */
static char *decimal(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void json_writer_int(struct json_writer *w, long long v)
{
	char text[24], *end = text + sizeof(text), *start;
	/* The magnitude of LLONG_MIN does not fit a long long. */
	uint64_t magnitude = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	start = decimal(magnitude, end);
	if (v < 0)
		*--start = '-';
	separate(w);
	append(w, start, (size_t)(end - start));
}

void json_writer_uint_string(struct json_writer *w, uint64_t v)
{
	char text[24], *end = text + sizeof(text), *start;

	*--end = '"';
	start = decimal(v, end);
	*--start = '"';
	separate(w);
	append(w, start, (size_t)(text + sizeof(text) - start));
}

void json_writer_bool(struct json_writer *w, bool v)
{
	separate(w);
	if (v)
		append(w, "true", 4);
	else
		append(w, "false", 5);
}

void json_writer_null(struct json_writer *w)
{
	separate(w);
	append(w, "null", 4);
}

void json_writer_fragment(struct json_writer *w, const char *json, size_t len)
{
	separate(w);
	append(w, json, len);
}

void json_writer_raw(struct json_writer *w, const char *bytes, size_t len)
{
	append(w, bytes, len);
	w->fresh = true;
	w->after_key = false;
}
