/* Latency samples, kept whole and sorted once for exact percentiles. */
#ifndef LOAD_SAMPLES_H
#define LOAD_SAMPLES_H

#include <stddef.h>

struct load_samples {
	long long *ns;
	size_t count, cap;
	int sorted;
};

int load_samples_add(struct load_samples *s, long long ns);

/* The nearest-rank percentile p (0 < p <= 100) in milliseconds, -1 when
 * there are no samples. Sorts the samples on first use. */
double load_samples_percentile_ms(struct load_samples *s, double p);

void load_samples_free(struct load_samples *s);

#endif
