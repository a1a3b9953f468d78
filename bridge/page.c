#include "page.h"

#include <stdlib.h>
#include <string.h>

void bridge_page_init(struct bridge_page *p, long long limit, size_t budget)
{
	memset(p, 0, sizeof(*p));
	json_writer_init(&p->text);
	p->limit = limit;
	p->budget = budget;
}

void bridge_page_free(struct bridge_page *p)
{
	json_writer_free(&p->text);
	free(p->ends);
	memset(p, 0, sizeof(*p));
}

static bool reserve_end(struct bridge_page *p)
{
	size_t cap = p->cap ? p->cap * 2 : 64;
	size_t *grown;

	if (p->count < p->cap)
		return true;
	grown = realloc(p->ends, cap * sizeof(*grown));
	if (grown == NULL)
		return false;
	p->ends = grown;
	p->cap = cap;
	return true;
}

bool bridge_page_add(void *page, const struct bridge_message *m)
{
	struct bridge_page *p = page;
	struct json_writer_mark before = json_writer_mark(&p->text);

	if ((long long)p->count >= p->limit) {
		p->full = true;
		return false;
	}
	/* Each message is its own document in text: no commas between. */
	json_writer_raw(&p->text, "", 0);
	bridge_message_write(&p->text, m);
	if (!json_writer_ok(&p->text) || !reserve_end(p)) {
		json_writer_rewind(&p->text, before);
		p->failed = true;
		return false;
	}
	/* With the new message the array holds count commas. */
	if (p->count > 0 && p->text.len + p->count > p->budget) {
		json_writer_rewind(&p->text, before);
		p->full = true;
		return false;
	}
	if (p->count == 0 || m->seq < p->low_seq)
		p->low_seq = m->seq;
	if (p->count == 0 || m->seq > p->high_seq)
		p->high_seq = m->seq;
	p->ends[p->count++] = p->text.len;
	return true;
}

static void write_message(const struct bridge_page *p, struct json_writer *w,
                          size_t i)
{
	size_t start = i ? p->ends[i - 1] : 0;

	json_writer_fragment(w, p->text.data + start, p->ends[i] - start);
}

void bridge_page_write(const struct bridge_page *p, struct json_writer *w,
                       bool reversed)
{
	json_writer_open_array(w);
	for (size_t i = 0; i < p->count; i++)
		write_message(p, w, reversed ? p->count - 1 - i : i);
	json_writer_close_array(w);
}
