#include "envelope.h"

#include <stdio.h>
#include <string.h>

#define BODY_KEY "\"body\":\""

/* Pauses before a retry, as docs/PROTOCOL.md suggests for each code. */
#define RETRY_BUSY_MS         50
#define RETRY_RATE_LIMITED_MS 1000
#define RETRY_UNAVAILABLE_MS  200

size_t load_envelope_write(char *out, const struct load_stamp *s, int body_size)
{
	int n;

	if (body_size < LOAD_BODY_MIN)
		body_size = LOAD_BODY_MIN;
	if (body_size > LOAD_BODY_MAX)
		body_size = LOAD_BODY_MAX;
	n = snprintf(out, LOAD_ENVELOPE_MAX,
	             "{\"cmid\":\"s%d-%lld\"," BODY_KEY "T%020lld S%06d "
	             "K%010lld ",
	             s->sender, s->counter, s->send_ns, s->sender, s->counter);
	memset(out + n, 'x', (size_t)(body_size - LOAD_STAMP_LEN));
	n += body_size - LOAD_STAMP_LEN;
	memcpy(out + n, "\"}", 2);
	return (size_t)n + 2;
}

/* Reads exactly `digits` decimal digits; -1 when one is not a digit. */
static long long fixed_number(const char *p, int digits)
{
	long long v = 0;

	for (int i = 0; i < digits; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int load_stamp_read(const char *text, size_t len, struct load_stamp *out)
{
	const char *p = memmem(text, len, BODY_KEY "T", sizeof(BODY_KEY));
	long long sender;

	if (p == NULL)
		return -1;
	p += sizeof(BODY_KEY) - 1;
	if ((size_t)(text + len - p) < LOAD_STAMP_LEN || p[22] != 'S' ||
	    p[30] != 'K')
		return -1;
	out->send_ns = fixed_number(p + 1, 20);
	sender = fixed_number(p + 23, 6);
	out->counter = fixed_number(p + 31, 10);
	out->sender = (int)sender;
	return out->send_ns < 0 || sender < 0 || out->counter < 0 ? -1 : 0;
}

/* Where the value of "<name>": starts in text, or NULL. */
static const char *field_value(const char *text, size_t len, const char *name)
{
	char key[64];
	int n = snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = memmem(text, len, key, (size_t)n);

	return p ? p + n : NULL;
}

int load_field_integer(const char *text, size_t len, const char *name,
                       long long *out)
{
	const char *p = field_value(text, len, name);
	const char *end = text + len;
	long long v = 0;

	if (p == NULL || p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	*out = v;
	return 0;
}

int load_field_string(const char *text, size_t len, const char *name,
                      const char **value, size_t *value_len)
{
	const char *p = field_value(text, len, name);
	const char *close;

	if (p == NULL || p >= text + len || *p != '"')
		return -1;
	p++;
	close = memchr(p, '"', (size_t)(text + len - p));
	if (close == NULL)
		return -1;
	*value = p;
	*value_len = (size_t)(close - p);
	return 0;
}

int load_field_true(const char *text, size_t len, const char *name)
{
	const char *p = field_value(text, len, name);

	return p && text + len - p >= 4 && memcmp(p, "true", 4) == 0;
}

static int code_is(const char *code, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(code, name, len) == 0;
}

int load_retry_pause_ms(const char *code, size_t len)
{
	if (code_is(code, len, "busy"))
		return RETRY_BUSY_MS;
	if (code_is(code, len, "rate_limited"))
		return RETRY_RATE_LIMITED_MS;
	if (code_is(code, len, "unavailable"))
		return RETRY_UNAVAILABLE_MS;
	return -1;
}
