#include "samples.h"

#include <stdlib.h>

int load_samples_add(struct load_samples *s, long long ns)
{
	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		long long *grown = realloc(s->ns, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		s->ns = grown;
		s->cap = cap;
	}
	s->ns[s->count++] = ns;
	s->sorted = 0;
	return 0;
}

static int compare_ns(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

double load_samples_percentile_ms(struct load_samples *s, double p)
{
	double exact = p / 100.0 * (double)s->count;
	size_t rank = (size_t)exact;

	if (s->count == 0)
		return -1;
	if (!s->sorted) {
		qsort(s->ns, s->count, sizeof(*s->ns), compare_ns);
		s->sorted = 1;
	}
	if ((double)rank < exact)
		rank++; /* the nearest rank rounds up */
	if (rank < 1)
		rank = 1;
	if (rank > s->count)
		rank = s->count;
	return (double)s->ns[rank - 1] / 1e6;
}

void load_samples_free(struct load_samples *s)
{
	free(s->ns);
	*s = (struct load_samples){0};
}
