#include "seen.h"

#include <stdlib.h>
#include <string.h>

#define SEEN_MIN_BITS 4096

static int grow(struct load_seen *s, long long position)
{
	size_t cap = s->cap_bits ? s->cap_bits : SEEN_MIN_BITS;
	unsigned char *bits;

	while (cap <= (size_t)position)
		cap *= 2;
	bits = realloc(s->bits, cap / 8);
	if (bits == NULL)
		return -1;
	memset(bits + s->cap_bits / 8, 0, (cap - s->cap_bits) / 8);
	s->bits = bits;
	s->cap_bits = cap;
	return 0;
}

int load_seen_mark(struct load_seen *s, long long position)
{
	unsigned char mask = (unsigned char)(1u << (position % 8));

	if ((size_t)position >= s->cap_bits && grow(s, position) != 0)
		return -1;
	if (s->bits[position / 8] & mask)
		return 0;
	s->bits[position / 8] |= mask;
	s->count++;
	if (position > s->max)
		s->max = position;
	return 1;
}

bool load_seen_has(const struct load_seen *s, long long position)
{
	if (position < 0 || (size_t)position >= s->cap_bits)
		return false;
	return s->bits[position / 8] & (1u << (position % 8));
}

void load_seen_free(struct load_seen *s)
{
	free(s->bits);
	*s = (struct load_seen){0};
}
