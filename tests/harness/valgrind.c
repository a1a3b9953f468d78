/*
 * Running the broker (with the plugin) and the bridge under Valgrind's
 * memcheck, for `make valgrind` (tools/valgrind.sh sets CHAT_VALGRIND=1).
 * Each start writes its own report, valgrind-<part>.<pid>.log, into the
 * server's folder; the reports are scanned when the server stops, and
 * copied to $CHAT_VALGRIND_LOG_DIR when that is set, so that the runner
 * can summarise them after the folders are gone.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALGRIND_PATH "valgrind"
#define REPORT_PREFIX "valgrind-"

/* What memcheck prints at the start of each error it finds; a report
 * cut short by kill -9 has no summary, but these lines are there. */
static const char *const error_headings[] = {
    "Invalid read of size",
    "Invalid write of size",
    "Invalid free()",
    "Mismatched free()",
    "Conditional jump or move depends on uninitialised",
    "Use of uninitialised value",
    "Syscall param",
    "Source and destination overlap",
    "Argument 'size' of function",
    "are definitely lost in loss record",
    "are indirectly lost in loss record",
    "Process terminating with default action of signal",
    NULL,
};

bool test_valgrind(void)
{
	const char *v = getenv("CHAT_VALGRIND");

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Appends one word to storage and points argv[*n] at it. */
static int put_word(char *storage, size_t storagelen, size_t *used,
                    char *argv[], size_t max, size_t *n, const char *word)
{
	size_t len = strlen(word) + 1;

	if (*used + len > storagelen || *n + 1 >= max)
		return -1;
	memcpy(storage + *used, word, len);
	argv[(*n)++] = storage + *used;
	*used += len;
	return 0;
}

size_t test_valgrind_prefix(const char *dir, const char *part, char *storage,
                            size_t storagelen, char *argv[], size_t max)
{
	const char *suppressions = getenv("CHAT_VALGRIND_SUPPRESSIONS");
	static const char *const fixed[] = {
	    VALGRIND_PATH,
	    "--tool=memcheck",
	    "--leak-check=full",
	    "--show-leak-kinds=definite,indirect",
	    "--errors-for-leak-kinds=definite,indirect",
	    "--error-exitcode=99",
	    /* The plugin is unloaded before the leak check: keep its
	     * symbols so that its leaks are named. */
	    "--keep-debuginfo=yes",
	    "--num-callers=30",
	    NULL,
	};
	char word[PATH_MAX + 64];
	size_t used = 0, n = 0;
	bool ok = true;

	if (!test_valgrind())
		return 0;
	for (int i = 0; ok && fixed[i]; i++)
		ok = put_word(storage, storagelen, &used, argv, max, &n,
		              fixed[i]) == 0;
	snprintf(word, sizeof(word),
	         "--log-file=%s/" REPORT_PREFIX "%s.%%p.log", dir, part);
	ok = ok &&
	     put_word(storage, storagelen, &used, argv, max, &n, word) == 0;
	if (ok && suppressions && suppressions[0]) {
		snprintf(word, sizeof(word), "--suppressions=%s", suppressions);
		ok = put_word(storage, storagelen, &used, argv, max, &n,
		              word) == 0;
	}
	if (!ok) {
		test_log("valgrind's command line does not fit");
		return (size_t)-1;
	}
	return n;
}

static bool is_report(const char *name)
{
	size_t len = strlen(name);

	return strncmp(name, REPORT_PREFIX, strlen(REPORT_PREFIX)) == 0 &&
	       len > 4 && strcmp(name + len - 4, ".log") == 0;
}

/* "ERROR SUMMARY: 3 errors ..." with a count above zero. */
static bool bad_summary(const char *line)
{
	const char *at = strstr(line, "ERROR SUMMARY: ");

	return at && atoi(at + strlen("ERROR SUMMARY: ")) > 0;
}

static bool scan_report(const char *path, char *line, size_t linelen)
{
	FILE *f = fopen(path, "r");
	char text[1024];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(text, sizeof(text), f)) {
		found = bad_summary(text);
		for (int i = 0; !found && error_headings[i]; i++)
			found = strstr(text, error_headings[i]) != NULL;
	}
	fclose(f);
	if (found) {
		text[strcspn(text, "\n")] = '\0';
		snprintf(line, linelen, "%s: %s", strrchr(path, '/') + 1, text);
	}
	return found;
}

bool test_valgrind_report(const char *dir, char *line, size_t linelen)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (!test_valgrind() || (d = opendir(dir)) == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		if (!is_report(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		found = scan_report(path, line, linelen);
	}
	closedir(d);
	return found;
}

static void copy_report(const char *from, const char *to)
{
	size_t len;
	char *text = test_read_file(from, &len);
	FILE *f;

	if (text == NULL)
		return;
	f = fopen(to, "w");
	if (f != NULL) {
		fwrite(text, 1, len, f);
		fclose(f);
	} else {
		test_log("cannot write %s: %s", to, strerror(errno));
	}
	free(text);
}

void test_valgrind_keep_reports(const char *dir)
{
	const char *keep = getenv("CHAT_VALGRIND_LOG_DIR");
	const char *server = strrchr(dir, '/');
	char from[PATH_MAX + 256], to[PATH_MAX * 2];
	struct dirent *e;
	DIR *d;

	if (!test_valgrind() || keep == NULL || keep[0] == '\0' ||
	    (d = opendir(dir)) == NULL)
		return;
	server = server ? server + 1 : dir;
	while ((e = readdir(d)) != NULL) {
		if (!is_report(e->d_name))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s-%s-%s", keep,
		         program_invocation_short_name, server, e->d_name);
		copy_report(from, to);
	}
	closedir(d);
}
