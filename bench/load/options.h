/* The command line of chat-load. */
#ifndef LOAD_OPTIONS_H
#define LOAD_OPTIONS_H

#include <stdbool.h>

enum load_mode {
	LOAD_PRODUCT, /* the chat server: tokens, chat topics, ticks */
	LOAD_PLAIN,   /* plain mosquitto: anonymous, plain topics */
};

struct load_options {
	const char *scenario; /* pairs, group, catchup, idle, free-port */
	enum load_mode mode;
	int port;
	const char *roster; /* product mode */
	int pairs;          /* pairs: conversations, one sender each */
	int members;        /* group: members, all subscribed */
	int senders;        /* group: members that send */
	int inflight;       /* unfinished messages per sender */
	int rate;           /* messages per second over all senders, 0: as
	                       fast as the in-flight bound allows */
	int body;           /* body bytes */
	double warmup_s;
	double window_s;
	int backlog;  /* catchup: messages waiting */
	int page;     /* catchup: sync page size */
	int clients;  /* idle: connections wanted */
	int parallel; /* handshakes at a time */
	int turn_us;  /* shortest loop turn, to batch packets (0: none) */
	int broker_pid;
	int bridge_pid;
};

/* Parses argv. Returns 0, or -1 after printing the usage. */
int load_options_parse(int argc, char **argv, struct load_options *o);

#endif
