#include "mqtt.h"

#include <string.h>

#define MQTT_MAX_REMAINING 268435455UL /* four length bytes */
#define MQTT_HEADER_MAX    5

/* Reserves the whole packet and writes its fixed header; returns where the
 * body starts, or NULL when out of memory. */
static unsigned char *begin_packet(struct load_buffer *b, int first_byte,
                                   size_t remaining)
{
	unsigned char *p;

	if (load_buffer_reserve(b, MQTT_HEADER_MAX + remaining) != 0)
		return NULL;
	p = b->data + b->len;
	*p++ = (unsigned char)first_byte;
	do {
		unsigned char digit = remaining % 128;

		remaining /= 128;
		*p++ = remaining > 0 ? digit | 0x80 : digit;
	} while (remaining > 0);
	return p;
}

static unsigned char *put_u16(unsigned char *p, unsigned v)
{
	*p++ = (unsigned char)(v >> 8);
	*p++ = (unsigned char)(v & 0xff);
	return p;
}

static unsigned char *put_string(unsigned char *p, const char *s, size_t n)
{
	p = put_u16(p, (unsigned)n);
	memcpy(p, s, n);
	return p + n;
}

static void end_packet(struct load_buffer *b, const unsigned char *end)
{
	b->len = (size_t)(end - b->data);
}

static size_t optional_length(const char *s)
{
	return s ? 2 + strlen(s) : 0;
}

int mqtt_put_connect(struct load_buffer *b, const struct mqtt_connect *c)
{
	size_t id_len = strlen(c->client_id);
	size_t remaining = 10 + 2 + id_len + optional_length(c->user) +
	                   optional_length(c->password);
	int flags = (c->clean_session ? 0x02 : 0) | (c->user ? 0x80 : 0) |
	            (c->password ? 0x40 : 0);
	unsigned char *p = begin_packet(b, MQTT_CONNECT << 4, remaining);

	if (p == NULL)
		return -1;
	p = put_string(p, "MQTT", 4);
	*p++ = 4; /* protocol level: 3.1.1 */
	*p++ = (unsigned char)flags;
	p = put_u16(p, c->keepalive);
	p = put_string(p, c->client_id, id_len);
	if (c->user)
		p = put_string(p, c->user, strlen(c->user));
	if (c->password)
		p = put_string(p, c->password, strlen(c->password));
	end_packet(b, p);
	return 0;
}

int mqtt_put_subscribe(struct load_buffer *b, unsigned packet_id,
                       const char *filter, int qos)
{
	size_t filter_len = strlen(filter);
	unsigned char *p =
	    begin_packet(b, MQTT_SUBSCRIBE << 4 | 0x02, 2 + 2 + filter_len + 1);

	if (p == NULL)
		return -1;
	p = put_u16(p, packet_id);
	p = put_string(p, filter, filter_len);
	*p++ = (unsigned char)qos;
	end_packet(b, p);
	return 0;
}

int mqtt_put_publish(struct load_buffer *b, const char *topic,
                     unsigned packet_id, const void *payload, size_t len)
{
	size_t topic_len = strlen(topic);
	unsigned char *p =
	    begin_packet(b, MQTT_PUBLISH << 4 | 0x02, 2 + topic_len + 2 + len);

	if (p == NULL)
		return -1;
	p = put_string(p, topic, topic_len);
	p = put_u16(p, packet_id);
	memcpy(p, payload, len);
	end_packet(b, p + len);
	return 0;
}

int mqtt_put_puback(struct load_buffer *b, unsigned packet_id)
{
	unsigned char *p = begin_packet(b, MQTT_PUBACK << 4, 2);

	if (p == NULL)
		return -1;
	end_packet(b, put_u16(p, packet_id));
	return 0;
}

int mqtt_put_empty(struct load_buffer *b, enum mqtt_type type)
{
	unsigned char *p = begin_packet(b, (int)type << 4, 0);

	if (p == NULL)
		return -1;
	end_packet(b, p);
	return 0;
}

long mqtt_next(const unsigned char *data, size_t len, struct mqtt_packet *out)
{
	size_t remaining = 0, multiplier = 1, pos = 1;

	for (;;) {
		if (pos >= len)
			return 0;
		if (pos > 4)
			return -1;
		remaining += (data[pos] & 0x7f) * multiplier;
		multiplier *= 128;
		if ((data[pos++] & 0x80) == 0)
			break;
	}
	if (remaining > MQTT_MAX_REMAINING)
		return -1;
	if (len - pos < remaining)
		return 0;
	out->type = data[0] >> 4;
	out->flags = data[0] & 0x0f;
	out->body = data + pos;
	out->len = remaining;
	return (long)(pos + remaining);
}

static unsigned read_u16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

int mqtt_read_publish(const struct mqtt_packet *p, struct mqtt_publish *out)
{
	size_t pos;

	if (p->len < 2)
		return -1;
	out->topic_len = read_u16(p->body);
	out->topic = (const char *)p->body + 2;
	out->qos = (p->flags >> 1) & 0x03;
	pos = 2 + out->topic_len;
	out->packet_id = 0;
	if (out->qos > 0) {
		if (pos + 2 > p->len)
			return -1;
		out->packet_id = read_u16(p->body + pos);
		pos += 2;
	}
	if (pos > p->len)
		return -1;
	out->payload = (const char *)p->body + pos;
	out->payload_len = p->len - pos;
	return 0;
}

unsigned mqtt_read_packet_id(const struct mqtt_packet *p)
{
	return p->len >= 2 ? read_u16(p->body) : 0;
}
