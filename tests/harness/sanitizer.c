/*
 * Running the sanitized build: the broker is Debian's uninstrumented
 * binary, so the ASan and UBSan runtimes are preloaded for the sanitized
 * plugin and leak detection is off (the broker's leaks are not ours). The
 * bridge is instrumented and keeps leak detection on. Reports are found by
 * scanning the logs when the server stops.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

static void runtime_path(const char *lib, char *out, size_t outlen)
{
	char arg[64], err[256];
	char *argv[] = {"gcc", arg, NULL};

	snprintf(arg, sizeof(arg), "-print-file-name=%s", lib);
	if (test_process_run(argv, 10000, out, outlen, err, sizeof(err)) != 0) {
		test_log("cannot locate %s with gcc: %s", lib, err);
		out[0] = '\0';
	}
	out[strcspn(out, "\n")] = '\0';
}

void test_sanitizer_broker_env(char *storage, size_t storagelen, char *env[],
                               size_t envlen)
{
	char asan[PATH_MAX], ubsan[PATH_MAX];
	int n;

	env[0] = NULL;
	if (!test_sanitized() || envlen < 4)
		return;
	runtime_path("libasan.so", asan, sizeof(asan));
	runtime_path("libubsan.so", ubsan, sizeof(ubsan));
	n = snprintf(storage, storagelen, "LD_PRELOAD=%s:%s", asan, ubsan);
	if (n < 0 || (size_t)n + 64 > storagelen)
		return;
	env[0] = storage;
	env[1] = storage + n + 1;
	snprintf(env[1], storagelen - (size_t)n - 1,
	         "ASAN_OPTIONS=detect_leaks=0");
	env[2] = env[1] + strlen(env[1]) + 1;
	snprintf(env[2], storagelen - (size_t)(env[2] - storage),
	         "UBSAN_OPTIONS=print_stacktrace=1");
	env[3] = NULL;
}

void test_sanitizer_bridge_env(char *storage, size_t storagelen, char *env[],
                               size_t envlen)
{
	env[0] = NULL;
	if (!test_sanitized() || envlen < 3 || storagelen < 80)
		return;
	snprintf(storage, storagelen, "ASAN_OPTIONS=detect_leaks=1");
	env[0] = storage;
	env[1] = storage + strlen(storage) + 1;
	snprintf(env[1], storagelen - strlen(storage) - 1,
	         "UBSAN_OPTIONS=print_stacktrace=1");
	env[2] = NULL;
}

bool test_sanitizer_report(const char *log_path, bool leaks, char *line,
                           size_t linelen)
{
	static const char *const errors[] = {"ERROR: AddressSanitizer",
	                                     "runtime error:", NULL};
	static const char *const with_leaks[] = {
	    "ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer", NULL};

	return test_file_find_line(log_path, leaks ? with_leaks : errors, line,
	                           linelen);
}
