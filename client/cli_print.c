#include "cli.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("chat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_print_notice(void *ctx, const char *text)
{
	(void)ctx;
	fprintf(stderr, "chat: %s\n", text);
}

/* Someone else's text must not drive the terminal (escape sequences). */
void cli_print_text(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n')
			fputs("\n    ", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			putchar('?');
		else
			putchar(*p);
	}
}

static void print_plain(const struct chat_message *m)
{
	printf("%s #%lld ", m->convo, m->seq);
	switch (m->kind) {
	case CHAT_MESSAGE_TEXT:
		printf("%s: ", m->from);
		cli_print_text(m->text);
		break;
	case CHAT_MESSAGE_FILE:
		printf("%s: [file ", m->from);
		cli_print_text(m->file.name ? m->file.name : "");
		printf(", %lld bytes, ", m->file.size);
		cli_print_text(m->file.type ? m->file.type : "");
		printf("] (chat get-file %s %lld OUT)", m->convo, m->seq);
		break;
	case CHAT_MESSAGE_SYSTEM:
		printf("* %s %s ", m->from, m->system_type);
		cli_print_text(m->system_event ? m->system_event : "");
		break;
	case CHAT_MESSAGE_UNREADABLE:
		printf("%s: [cannot decrypt: %s]", m->from, m->error);
		break;
	}
	putchar('\n');
}

static void add_file(cJSON *obj, const struct chat_message *m)
{
	cJSON *file = cJSON_AddObjectToObject(obj, "file");

	if (file == NULL)
		return;
	cJSON_AddStringToObject(file, "name", m->file.name ? m->file.name : "");
	cJSON_AddStringToObject(file, "type", m->file.type ? m->file.type : "");
	cJSON_AddNumberToObject(file, "size", (double)m->file.size);
	cJSON_AddStringToObject(file, "blob", m->file.blob ? m->file.blob : "");
}

static void print_json(const struct chat_message *m)
{
	cJSON *obj = cJSON_CreateObject();
	char *text;

	if (obj == NULL)
		return;
	cJSON_AddStringToObject(obj, "convo", m->convo);
	cJSON_AddNumberToObject(obj, "seq", (double)m->seq);
	cJSON_AddStringToObject(obj, "from", m->from);
	cJSON_AddNumberToObject(obj, "ts", (double)m->ts);
	if (m->id != NULL)
		cJSON_AddStringToObject(obj, "id", m->id);
	if (m->cmid != NULL)
		cJSON_AddStringToObject(obj, "cmid", m->cmid);
	if (m->kind == CHAT_MESSAGE_TEXT)
		cJSON_AddStringToObject(obj, "text", m->text);
	else if (m->kind == CHAT_MESSAGE_FILE)
		add_file(obj, m);
	else if (m->kind == CHAT_MESSAGE_SYSTEM)
		cJSON_AddStringToObject(obj, "system", m->system_type);
	else
		cJSON_AddStringToObject(obj, "error", m->error);
	if (m->kind == CHAT_MESSAGE_SYSTEM && m->system_event != NULL)
		cJSON_AddItemToObject(obj, "event",
		                      cJSON_Parse(m->system_event));
	text = cJSON_PrintUnformatted(obj);
	if (text != NULL)
		puts(text);
	free(text);
	cJSON_Delete(obj);
}

void cli_print_message(void *ctx, const struct chat_message *m)
{
	const struct cli_output *out = ctx;

	if (out->json)
		print_json(m);
	else
		print_plain(m);
	/* Whoever reads the output sees each message as it comes. */
	fflush(stdout);
}

void cli_print_conversation(void *ctx, const struct chat_conversation *c)
{
	(void)ctx;
	printf("%s  %s  ", c->convo, c->kind ? c->kind : "?");
	if (c->members != NULL)
		cli_print_text(c->members);
	else if (c->title != NULL)
		cli_print_text(c->title);
	printf("  members %lld  head %lld  unread %lld  held %lld%s\n",
	       c->member_count, c->head,
	       c->head > c->read ? c->head - c->read : 0, c->contiguous,
	       c->member ? "" : "  (no longer a member)");
}
