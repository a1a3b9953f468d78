#include "report.h"

#include <stdio.h>

static int report_fields;

static void separate(void)
{
	if (report_fields++ > 0)
		putchar(' ');
}

void load_report_text(const char *key, const char *value)
{
	separate();
	printf("%s=%s", key, value);
}

void load_report_int(const char *key, long long value)
{
	separate();
	printf("%s=%lld", key, value);
}

void load_report_real(const char *key, double value)
{
	separate();
	if (value < 0)
		printf("%s=-1", key);
	else
		printf("%s=%.3f", key, value);
}

void load_report_end(void)
{
	putchar('\n');
	fflush(stdout);
	report_fields = 0;
}
