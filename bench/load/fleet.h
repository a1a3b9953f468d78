/*
 * The generator's clients: their names and credentials, connecting many of
 * them with a bounded number of handshakes in flight, subscribing each to
 * its one filter, and the readiness check of the chat server (a ping that
 * only an answering bridge can satisfy).
 */
#ifndef LOAD_FLEET_H
#define LOAD_FLEET_H

#include "conn.h"

#include <stdbool.h>

#define LOAD_NAME_MAX   80
#define LOAD_FILTER_MAX 160

enum load_client_state {
	LOAD_CLIENT_DOWN,
	LOAD_CLIENT_CONNECTING,
	LOAD_CLIENT_SUBSCRIBING,
	LOAD_CLIENT_READY,
	LOAD_CLIENT_FAILED,
};

struct load_client {
	struct load_conn conn;
	char user[LOAD_NAME_MAX];
	char client_id[LOAD_NAME_MAX];
	char filter[LOAD_FILTER_MAX]; /* "" subscribes nothing */
	const char *token;            /* NULL: connect without password */
	bool clean_session;
	enum load_client_state state;
	unsigned subscribe_id;
};

/* What a scenario hears from its clients. */
struct load_fleet_handlers {
	void (*message)(void *scenario, struct load_client *c,
	                const struct mqtt_publish *m);
	void (*puback)(void *scenario, struct load_client *c,
	               unsigned packet_id);
	/* An error event of the chat server; returns true when the scenario
	 * retries (busy, rate_limited), false to count it as an error. May
	 * be NULL. */
	bool (*event)(void *scenario, struct load_client *c,
	              const struct mqtt_publish *m);
};

struct load_fleet {
	struct load_loop *loop;
	int port;
	struct load_client *clients;
	int count;
	int ready;        /* clients subscribed (or connected, no filter) */
	int failed;       /* clients refused or lost */
	int handshakes;   /* clients connecting or subscribing */
	int error_events; /* error events nobody retries */
	int next_start;   /* connect: the next client to start */
	const struct load_fleet_handlers *handlers;
	void *scenario;
	char ping_id[32];
	int ping_state; /* 0 waiting, 1 answered ok, -1 answered not ok */
};

/* count clients, all down, clean session, no filter, no token. */
int load_fleet_init(struct load_fleet *f, struct load_loop *loop, int port,
                    int count);
void load_fleet_free(struct load_fleet *f);

/* Names client i after user ("<user>-load" as client id). */
void load_fleet_name(struct load_fleet *f, int i, const char *user,
                     const char *filter, const char *token);

/* Connects clients first..first+count-1, at most `parallel` handshakes at
 * a time, and waits until all are ready. Returns 0 or -1. */
int load_fleet_connect(struct load_fleet *f, int first, int count, int parallel,
                       int timeout_ms);

/* Sends DISCONNECT from client i and waits until the broker closes it. */
int load_fleet_disconnect(struct load_fleet *f, int i, int timeout_ms);

/* Pings the chat server from client i (ready, subscribed) until the bridge
 * answers "ok". Returns 0 or -1. */
int load_fleet_await_service(struct load_fleet *f, int i, int timeout_ms);

/* Runs loop turns until done(arg) or the deadline. Returns 0 when done,
 * -1 on timeout or a loop failure. */
int load_fleet_run_until(struct load_fleet *f, bool (*done)(void *arg),
                         void *arg, int timeout_ms);

#endif
