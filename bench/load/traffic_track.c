/*
 * Accounting of the traffic scenarios: every message sent, and every copy
 * that comes back, placed by its body stamp and deduplicated per client by
 * (convo, seq) on the chat server or (sender, counter) on plain mosquitto.
 */
#include "traffic.h"

#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ensure_capacity(struct traffic_sender *s, long long counter)
{
	size_t cap = s->remaining_cap ? s->remaining_cap : 4096;
	unsigned short *remaining;
	long long *send_ns;

	if ((size_t)counter < s->remaining_cap)
		return 0;
	while (cap <= (size_t)counter)
		cap *= 2;
	remaining = realloc(s->remaining, cap * sizeof(*remaining));
	if (remaining == NULL)
		return -1;
	s->remaining = remaining;
	send_ns = realloc(s->send_ns, cap * sizeof(*send_ns));
	if (send_ns == NULL)
		return -1;
	s->send_ns = send_ns;
	s->remaining_cap = cap;
	return 0;
}

/* Publishes message `counter` of a sender with its original stamp. */
static int publish(struct traffic *t, int index, long long counter)
{
	struct traffic_sender *s = &t->senders[index];
	struct load_conn *conn = &t->fleet.clients[s->client].conn;
	struct load_stamp stamp = {s->send_ns[counter], index, counter};
	char payload[LOAD_ENVELOPE_MAX];
	size_t len = load_envelope_write(payload, &stamp, t->opt->body);
	unsigned packet_id;

	if (load_conn_publish(conn, s->topic, payload, len, &packet_id) != 0)
		return -1;
	if (s->by_packet)
		s->by_packet[packet_id] =
		    (struct traffic_puback){counter, stamp.send_ns};
	return 0;
}

int traffic_send(struct traffic *t, int index)
{
	struct traffic_sender *s = &t->senders[index];
	long long counter = s->sent + 1;

	if (ensure_capacity(s, counter) != 0)
		return -1;
	s->remaining[counter] = (unsigned short)t->copies;
	s->send_ns[counter] = load_now_ns();
	if (publish(t, index, counter) != 0)
		return -1;
	s->sent++;
	s->in_flight++;
	t->published++;
	return 0;
}

int traffic_resend_due(struct traffic *t)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->retry_count; i++) {
		struct traffic_retry *r = &t->retries[i];

		if (r->due_ns > t->loop.now_ns) {
			t->retries[kept++] = *r;
			continue;
		}
		if (publish(t, r->sender, r->counter) != 0)
			return -1;
		t->retried++;
	}
	t->retry_count = kept;
	return 0;
}

static int queue_retry(struct traffic *t, int sender, long long counter,
                       int pause_ms)
{
	if (t->retry_count == t->retry_cap) {
		size_t cap = t->retry_cap ? t->retry_cap * 2 : 64;
		struct traffic_retry *grown =
		    realloc(t->retries, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		t->retries = grown;
		t->retry_cap = cap;
	}
	t->retries[t->retry_count++] = (struct traffic_retry){
	    sender, counter, t->loop.now_ns + pause_ms * 1000000LL};
	return 0;
}

bool traffic_on_event(void *scenario, struct load_client *c,
                      const struct mqtt_publish *m)
{
	struct traffic *t = scenario;
	const char *code, *cmid;
	size_t code_len, cmid_len;
	long long counter;
	int sender, pause;
	char id[32];

	(void)c;
	if (load_field_string(m->payload, m->payload_len, "code", &code,
	                      &code_len) != 0 ||
	    load_field_string(m->payload, m->payload_len, "cmid", &cmid,
	                      &cmid_len) != 0 ||
	    cmid_len >= sizeof(id))
		return false;
	memcpy(id, cmid, cmid_len);
	id[cmid_len] = '\0';
	pause = load_retry_pause_ms(code, code_len);
	if (pause < 0 || sscanf(id, "s%d-%lld", &sender, &counter) != 2 ||
	    sender < 0 || sender >= t->sender_count || counter < 1 ||
	    counter > t->senders[sender].sent)
		return false;
	return queue_retry(t, sender, counter, pause) == 0;
}

long long traffic_in_flight(const struct traffic *t)
{
	long long n = 0;

	for (int i = 0; i < t->sender_count; i++)
		n += t->senders[i].in_flight;
	return n;
}

static bool in_window(const struct traffic *t, long long ns)
{
	return ns >= t->measure_from && ns < t->measure_to;
}

/* One expected copy of a message arrived. */
static void arrive(struct traffic *t, struct traffic_sender *s,
                   long long counter)
{
	unsigned short *left = &s->remaining[counter];

	if (*left == 0) {
		t->extra++;
		return;
	}
	if (--*left == 0)
		s->in_flight--;
}

static void accept(struct traffic *t, long long send_ns)
{
	long long now = t->loop.now_ns;

	t->total.accepted++;
	if (in_window(t, now))
		t->window.accepted++;
	if (in_window(t, send_ns))
		load_samples_add(&t->accept_ns, now - send_ns);
}

static int stream_of(const struct traffic *t, const char *convo, size_t len)
{
	for (int i = 0; i < t->stream_count; i++)
		if (strlen(t->streams[i]) == len &&
		    memcmp(t->streams[i], convo, len) == 0)
			return i;
	return -1;
}

/* The dedup key and position of a copy: (convo, seq) or (sender, counter). */
static int place(const struct traffic *t, const struct mqtt_publish *m,
                 const struct load_stamp *stamp, int *key, long long *position)
{
	const char *convo;
	size_t convo_len;

	if (!t->product) {
		*key = stamp->sender;
		*position = stamp->counter;
		return 0;
	}
	if (load_field_string(m->payload, m->payload_len, "convo", &convo,
	                      &convo_len) != 0 ||
	    load_field_integer(m->payload, m->payload_len, "seq", position) !=
	        0)
		return -1;
	*key = stream_of(t, convo, convo_len);
	return *key < 0 ? -1 : 0;
}

static bool known(const struct traffic *t, const struct load_stamp *stamp)
{
	return stamp->sender < t->sender_count && stamp->counter >= 1 &&
	       stamp->counter <= t->senders[stamp->sender].sent;
}

static void count_copy(struct traffic *t, int client,
                       const struct load_stamp *stamp)
{
	struct traffic_sender *s = &t->senders[stamp->sender];
	long long now = t->loop.now_ns;
	bool own = t->sender_of[client] == stamp->sender;

	arrive(t, s, stamp->counter);
	if (own) {
		t->total.delivered_own++;
		t->window.delivered_own += in_window(t, now);
	} else {
		t->total.delivered_other++;
		t->window.delivered_other += in_window(t, now);
	}
	if (own && t->product)
		accept(t, stamp->send_ns); /* the tick */
	else if (!own && in_window(t, stamp->send_ns))
		load_samples_add(&t->receive_ns, now - stamp->send_ns);
}

static bool is_message_topic(const struct mqtt_publish *m)
{
	return m->topic_len >= 4 &&
	       memcmp(m->topic + m->topic_len - 4, "/msg", 4) == 0;
}

void traffic_on_message(void *scenario, struct load_client *c,
                        const struct mqtt_publish *m)
{
	struct traffic *t = scenario;
	struct load_stamp stamp;
	long long position;
	int key, fresh;

	/* Other inbox traffic (presence, receipts) is not the benchmark's. */
	if (t->product && !is_message_topic(m)) {
		t->other_inbox++;
		return;
	}
	if (load_stamp_read(m->payload, m->payload_len, &stamp) != 0 ||
	    !known(t, &stamp) || place(t, m, &stamp, &key, &position) != 0) {
		t->unknown++;
		return;
	}
	fresh =
	    load_seen_mark(&t->seen[c->conn.index * t->keys + key], position);
	if (fresh == 0)
		t->redelivered++;
	else if (fresh < 0)
		t->unknown++;
	else
		count_copy(t, c->conn.index, &stamp);
}

void traffic_on_puback(void *scenario, struct load_client *c,
                       unsigned packet_id)
{
	struct traffic *t = scenario;
	int index = t->sender_of[c->conn.index];
	struct traffic_puback *acked;

	/* The chat server's PUBACK says only "received"; the tick counts. */
	if (t->product || index < 0)
		return;
	acked = &t->senders[index].by_packet[packet_id];
	if (acked->counter == 0) {
		t->unknown++;
		return;
	}
	arrive(t, &t->senders[index], acked->counter);
	accept(t, acked->send_ns);
	acked->counter = 0;
}
