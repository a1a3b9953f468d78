/* Temporary folders and the small file chores around server logs. */
#include "harness.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int test_make_temp_dir(const char *label, char *out, size_t outlen)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(out, outlen, "%s/chat-%s-XXXXXX", tmp, label) >=
	    outlen)
		return -1;
	if (mkdtemp(out) == NULL) {
		test_log("mkdtemp %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) != 0)
		test_log("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

int test_remove_tree(const char *path)
{
	/* Depth first, without following symbolic links out of the folder. */
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int test_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc = 0;

	if (f == NULL) {
		test_log("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (fputs(text, f) == EOF)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t size = 0, capacity = 4096, n;
	char *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(capacity);
	while (buf != NULL) {
		n = fread(buf + size, 1, capacity - size - 1, f);
		size += n;
		if (n == 0)
			break;
		if (size + 1 == capacity) {
			char *bigger = realloc(buf, capacity * 2);

			if (bigger == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			capacity *= 2;
		}
	}
	fclose(f);
	if (buf == NULL)
		return NULL;
	buf[size] = '\0';
	if (len)
		*len = size;
	return buf;
}

void test_print_tail(const char *label, const char *path, int lines)
{
	size_t len;
	char *text = test_read_file(path, &len);
	char *start, *line, *save = NULL;
	int seen = 0;

	if (text == NULL) {
		fprintf(stderr, "%s: (no file %s)\n", label, path);
		return;
	}
	start = text + len;
	/* Walk back over `lines` newlines (ignoring a final one). */
	while (start > text) {
		if (start[-1] == '\n' && start != text + len && ++seen > lines)
			break;
		start--;
	}
	fprintf(stderr, "---- %s: last %d lines of %s\n", label, lines, path);
	for (line = strtok_r(start, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "%s| %s\n", label, line);
	fflush(stderr);
	free(text);
}

bool test_file_find_line(const char *path, const char *const needles[],
                         char *line, size_t linelen)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(buf, sizeof(buf), f)) {
		for (size_t i = 0; needles[i] != NULL; i++) {
			if (strstr(buf, needles[i]) == NULL)
				continue;
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(line, linelen, "%s", buf);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}
