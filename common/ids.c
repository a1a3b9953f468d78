#include "ids.h"

#include <string.h>

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool valid_topic_safe_id(const char *id)
{
	size_t len;

	if (id == NULL)
		return false;
	len = strlen(id);
	if (len == 0 || len > CHAT_ID_MAX || !is_alnum((unsigned char)id[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

bool chat_valid_user_id(const char *id)
{
	return valid_topic_safe_id(id);
}

bool chat_valid_convo_id(const char *id)
{
	return valid_topic_safe_id(id);
}

bool chat_valid_cmid(const char *cmid)
{
	size_t len;

	if (cmid == NULL)
		return false;
	len = strlen(cmid);
	if (len == 0 || len > CHAT_CMID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)cmid[i];

		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

bool chat_valid_request_id(const char *id)
{
	return chat_valid_cmid(id);
}
