/*
 * Growable byte buffers for socket input and output. A buffer only grows;
 * consumed bytes at the front are dropped by moving the rest down, which is
 * cheap because a connection rarely holds more than one partial packet.
 */
#ifndef LOAD_BUFFER_H
#define LOAD_BUFFER_H

#include <stddef.h>

struct load_buffer {
	unsigned char *data;
	size_t len; /* bytes held */
	size_t cap; /* bytes allocated */
};

/* Makes room for `extra` more bytes. Returns 0 or -1 (out of memory). */
int load_buffer_reserve(struct load_buffer *b, size_t extra);

int load_buffer_append(struct load_buffer *b, const void *bytes, size_t n);

/* Drops the first n bytes. */
void load_buffer_consume(struct load_buffer *b, size_t n);

void load_buffer_free(struct load_buffer *b);

#endif
