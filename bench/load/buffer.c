#include "buffer.h"

#include <stdlib.h>
#include <string.h>

#define BUFFER_MIN_CAP 64

int load_buffer_reserve(struct load_buffer *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : BUFFER_MIN_CAP;
	unsigned char *grown;

	if (b->len + extra <= b->cap)
		return 0;
	while (cap < b->len + extra)
		cap *= 2;
	grown = realloc(b->data, cap);
	if (grown == NULL)
		return -1;
	b->data = grown;
	b->cap = cap;
	return 0;
}

int load_buffer_append(struct load_buffer *b, const void *bytes, size_t n)
{
	if (load_buffer_reserve(b, n) != 0)
		return -1;
	memcpy(b->data + b->len, bytes, n);
	b->len += n;
	return 0;
}

void load_buffer_consume(struct load_buffer *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void load_buffer_free(struct load_buffer *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
