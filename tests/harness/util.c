/* Clocks, timeouts and diagnostics shared by the whole harness. */
#include "harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sanitized parts run several times slower; every wait grows with them. */
#define SANITIZED_TIMEOUT_FACTOR 4
/* Under memcheck the broker and the bridge run ten to thirty times
 * slower where they compute; most waits are for I/O. */
#define VALGRIND_TIMEOUT_FACTOR 10

long long test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void test_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

bool test_sanitized(void)
{
	const char *v = getenv("CHAT_SANITIZE");

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int test_timeout_ms(int ms)
{
	if (test_valgrind())
		return ms * VALGRIND_TIMEOUT_FACTOR;
	return test_sanitized() ? ms * SANITIZED_TIMEOUT_FACTOR : ms;
}

void test_log(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "harness: %s\n", line);
	fflush(stderr);
}

bool test_file_contains(const char *path, const char *text)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}
