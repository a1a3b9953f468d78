/*
 * CPU time and resident memory of the processes under test, read from
 * /proc, and the generator's own CPU time. A mark taken at both ends of a
 * measurement window gives each process's share of a core over it.
 */
#ifndef LOAD_PROCSTAT_H
#define LOAD_PROCSTAT_H

/* utime + stime of pid in seconds; -1 when pid is 0 or unreadable. */
double load_proc_cpu_s(int pid);

/* VmRSS of pid in KiB; -1 when pid is 0 or unreadable. */
long load_proc_rss_kb(int pid);

/* The calling process's user + system CPU seconds. */
double load_self_cpu_s(void);

struct load_cpu_mark {
	long long wall_ns;
	double self_s;
	double broker_s; /* -1: unknown */
	double bridge_s; /* -1: unknown */
};

void load_cpu_mark_take(struct load_cpu_mark *m, int broker_pid, int bridge_pid,
                        long long now_ns);

/* Percent of one core used between two marks, by which (self, broker,
 * bridge: 0, 1, 2); -1 when unknown. */
double load_cpu_percent(const struct load_cpu_mark *from,
                        const struct load_cpu_mark *to, int which);

/* CPU microseconds spent between two marks, -1 when unknown. */
double load_cpu_us(const struct load_cpu_mark *from,
                   const struct load_cpu_mark *to, int which);

#endif
