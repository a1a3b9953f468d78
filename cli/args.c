#include "chatctl.h"

#include "ids.h"
#include "text.h"

#include <string.h>

static int take_value(int argc, char **argv, int *i, const char **value)
{
	if (*i + 1 >= argc) {
		chatctl_error("%s needs a value", argv[*i]);
		return -1;
	}
	*value = argv[++*i];
	return 0;
}

static int take_member(int argc, char **argv, int *i, struct chatctl_args *out)
{
	if (out->member_count == CHATCTL_USERS_MAX) {
		chatctl_error("too many --member options: at most %d",
		              CHATCTL_USERS_MAX);
		return -1;
	}
	if (take_value(argc, argv, i, &out->members[out->member_count]) != 0)
		return -1;
	out->member_count++;
	return 0;
}

static int take_flag(int argc, char **argv, int *i, unsigned flags,
                     struct chatctl_args *out)
{
	const char *name = argv[*i];
	char quoted[CHATCTL_QUOTED_MAX];

	if ((flags & CHATCTL_FLAG_LABEL) && strcmp(name, "--label") == 0)
		return take_value(argc, argv, i, &out->label);
	if ((flags & CHATCTL_FLAG_USER) && strcmp(name, "--user") == 0)
		return take_value(argc, argv, i, &out->user);
	if ((flags & CHATCTL_FLAG_OWNER) && strcmp(name, "--owner") == 0)
		return take_value(argc, argv, i, &out->owner);
	if ((flags & CHATCTL_FLAG_MEMBER) && strcmp(name, "--member") == 0)
		return take_member(argc, argv, i, out);
	if ((flags & CHATCTL_FLAG_BY) && strcmp(name, "--by") == 0)
		return take_value(argc, argv, i, &out->by);
	if ((flags & CHATCTL_FLAG_CHANNEL) && strcmp(name, "--channel") == 0) {
		out->channel = true;
		return 0;
	}
	chatctl_error("unknown option %s",
	              chatctl_quote(name, quoted, sizeof(quoted)));
	return -1;
}

/*
 * Splits a command's arguments into min to max operands and the options
 * allowed by flags, in any order. Returns 0, or -1 after saying what is
 * wrong.
 */
int chatctl_args_parse_range(int argc, char **argv, unsigned flags, int min,
                             int max, struct chatctl_args *out)
{
	char quoted[CHATCTL_QUOTED_MAX];

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0) {
			if (take_flag(argc, argv, &i, flags, out) != 0)
				return -1;
			continue;
		}
		if (out->count == max) {
			chatctl_error(
			    "unexpected argument %s",
			    chatctl_quote(argv[i], quoted, sizeof(quoted)));
			return -1;
		}
		out->positional[out->count++] = argv[i];
	}
	if (out->count < min) {
		chatctl_error("missing argument");
		return -1;
	}
	return 0;
}

/* The same with exactly `positional` operands. */
int chatctl_args_parse(int argc, char **argv, unsigned flags, int positional,
                       struct chatctl_args *out)
{
	return chatctl_args_parse_range(argc, argv, flags, positional,
	                                positional, out);
}

/*
 * Text that ends up on an operator's terminal (labels, group titles) must
 * hold no control codes: neither C0 nor DEL nor the C1 range
 * (U+0080-U+009F, "\xc2\x80"-"\xc2\x9f").
 */
bool chatctl_printable(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text);

	if (!chat_utf8_valid(text, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

bool chatctl_label_valid(const char *label)
{
	size_t len = strlen(label);

	return len > 0 && len <= CHATCTL_LABEL_MAX && chatctl_printable(label);
}

/* A missing label (NULL) is fine; a given one must be valid. */
int chatctl_require_label(const char *label)
{
	if (label == NULL || chatctl_label_valid(label))
		return 0;
	chatctl_error("invalid label: 1-%d bytes of UTF-8 text without "
	              "control characters",
	              CHATCTL_LABEL_MAX);
	return -1;
}

int chatctl_require_user_id(const char *id)
{
	char quoted[CHATCTL_QUOTED_MAX];

	if (chat_valid_user_id(id))
		return 0;
	chatctl_error("invalid user id %s: use 1-64 of A-Z a-z 0-9 . _ -, "
	              "starting with a letter or digit",
	              chatctl_quote(id, quoted, sizeof(quoted)));
	return -1;
}

int chatctl_require_convo_id(const char *id)
{
	char quoted[CHATCTL_QUOTED_MAX];

	if (chat_valid_convo_id(id))
		return 0;
	chatctl_error("invalid conversation id %s: use 1-64 of A-Z a-z 0-9 . "
	              "_ -, starting with a letter or digit",
	              chatctl_quote(id, quoted, sizeof(quoted)));
	return -1;
}
