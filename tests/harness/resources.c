/*
 * What a running part uses and may use: its resident memory, read from
 * /proc, and the limit on the size of files it writes, changed from
 * outside with util-linux's prlimit(1), as an operator would.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRLIMIT_TIMEOUT_MS 5000

long test_process_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

int test_process_file_limit(pid_t pid, long long bytes)
{
	char pid_arg[32], limit[64], out[256], err[512];
	char *argv[] = {"prlimit", "--pid", pid_arg, limit, NULL};

	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)pid);
	/* The soft limit only: the hard one stays unlimited, so the limit
	 * can be raised again without privileges. */
	if (bytes < 0)
		snprintf(limit, sizeof(limit), "--fsize=unlimited");
	else
		snprintf(limit, sizeof(limit), "--fsize=%lld:unlimited", bytes);
	if (test_process_run(argv, PRLIMIT_TIMEOUT_MS, out, sizeof(out), err,
	                     sizeof(err)) == 0)
		return 0;
	test_log("prlimit --pid %s %s failed: %s", pid_arg, limit, err);
	return -1;
}
