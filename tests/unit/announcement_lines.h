/*
 * Reading an announcement (bridge/announce.h) back into the logical form
 * tests compare: a JSON array with one object per entry, a message
 * entry's head replaced by the message of the line after it.
 */
#ifndef TEST_ANNOUNCEMENT_LINES_H
#define TEST_ANNOUNCEMENT_LINES_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <string.h>

static inline cJSON *announcement_entries(const char *text, size_t len)
{
	cJSON *entries = cJSON_CreateArray();
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *end = memchr(line, '\n', len - pos);
		size_t n = end ? (size_t)(end - line) : len - pos;
		cJSON *entry = cJSON_ParseWithLength(line, n);

		pos += n + 1;
		if (entry == NULL) {
			cJSON_Delete(entries);
			return NULL;
		}
		if (cJSON_GetObjectItem(entry, "msg") && pos < len) {
			const char *next = text + pos;
			const char *stop = memchr(next, '\n', len - pos);
			size_t m = stop ? (size_t)(stop - next) : len - pos;

			cJSON_ReplaceItemInObject(
				entry, "msg", cJSON_ParseWithLength(next, m));
			pos += m + 1;
		}
		cJSON_AddItemToArray(entries, entry);
	}
	return entries;
}

#endif
