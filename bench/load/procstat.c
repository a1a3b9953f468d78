#include "procstat.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

double load_proc_cpu_s(int pid)
{
	char path[64], line[1024];
	unsigned long utime, stime;
	const char *after_name;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	after_name = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* Fields 14 and 15, counted after the command name in parentheses. */
	if (after_name == NULL ||
	    sscanf(after_name + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	           "%*u %lu %lu",
	           &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long load_proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

double load_self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void load_cpu_mark_take(struct load_cpu_mark *m, int broker_pid, int bridge_pid,
                        long long now_ns)
{
	m->wall_ns = now_ns;
	m->self_s = load_self_cpu_s();
	m->broker_s = load_proc_cpu_s(broker_pid);
	m->bridge_s = load_proc_cpu_s(bridge_pid);
}

static double seconds_of(const struct load_cpu_mark *m, int which)
{
	return which == 0 ? m->self_s : which == 1 ? m->broker_s : m->bridge_s;
}

double load_cpu_us(const struct load_cpu_mark *from,
                   const struct load_cpu_mark *to, int which)
{
	double a = seconds_of(from, which), b = seconds_of(to, which);

	return a < 0 || b < 0 ? -1 : (b - a) * 1e6;
}

double load_cpu_percent(const struct load_cpu_mark *from,
                        const struct load_cpu_mark *to, int which)
{
	double used = load_cpu_us(from, to, which);
	double wall_us = (double)(to->wall_ns - from->wall_ns) / 1e3;

	return used < 0 || wall_us <= 0 ? -1 : 100.0 * used / wall_us;
}
