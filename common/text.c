#include "text.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <string.h>

/* Length of the UTF-8 sequence starting at p, or 0 when it is malformed. */
static size_t utf8_sequence_length(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t need;
	unsigned int cp;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000))
		return 0; /* overlong */
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0; /* UTF-16 surrogate */
	if (cp > 0x10ffff)
		return 0;
	return need;
}

/* True when none of the 8 bytes at p is NUL or above 0x7f: plain ASCII,
 * valid as it is. */
static bool ascii_word(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t word;

	memcpy(&word, p, sizeof(word));
	/* (word - ones) & ~word has a high bit set where a byte is 0. */
	return ((word | ((word - ones) & ~word)) & highs) == 0;
}

bool chat_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (len - i >= 8 && ascii_word(p + i)) {
			i += 8;
			continue;
		}
		n = utf8_sequence_length(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

const bool chat_json_string_special[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
	[0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
	[0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* Follows strings, escapes and nesting; false on the first thing that is
 * not acceptable. */
static bool scan_json(const char *buf, size_t len, int max_depth)
{
	bool in_string = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (!in_string) {
			if (c == '"')
				in_string = true;
			else if ((c == '{' || c == '[') && ++depth > max_depth)
				return false;
			else if (c == '}' || c == ']')
				depth--;
			continue;
		}
		/* Most of a string is ordinary text: pass it at once. */
		while (!chat_json_string_special[c] && ++i < len)
			c = (unsigned char)buf[i];
		if (i == len)
			break;
		if (c < 0x20)
			return false; /* JSON requires control characters escaped */
		if (c == '"') {
			in_string = false;
		} else if (c == '\\' && i + 1 < len) {
			if (buf[i + 1] == 'u' && i + 5 < len &&
			    memcmp(buf + i + 2, "0000", 4) == 0)
				return false;
			i++; /* skip the escaped character */
		}
	}
	return true;
}

bool chat_json_text_acceptable_depth(const char *buf, size_t len,
				     int max_depth)
{
	return chat_utf8_valid(buf, len) && scan_json(buf, len, max_depth);
}

bool chat_json_text_acceptable(const char *buf, size_t len)
{
	return chat_json_text_acceptable_depth(buf, len, CHAT_JSON_MAX_DEPTH);
}

cJSON *chat_json_parse_exact(const char *buf, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, false);

	if (root == NULL)
		return NULL;
	while (end && end < buf + len &&
	       (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != buf + len) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}
