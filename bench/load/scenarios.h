/*
 * The scenarios of chat-load. Each runs one measurement against a server
 * that bench/run.sh started, prints its result line (report.h) and returns
 * 0 when every message was accounted for, 2 when something was lost or
 * duplicated, 1 when the run could not be made.
 */
#ifndef LOAD_SCENARIOS_H
#define LOAD_SCENARIOS_H

#include "options.h"
#include "roster.h"

#define LOAD_RUN_OK     0
#define LOAD_RUN_ERROR  1
#define LOAD_RUN_FAILED 2

/* 1:1 conversations (pairs) or one group: throughput or paced latency. */
int load_run_traffic(const struct load_options *o, const struct load_roster *r);

/* A reader drains a backlog: sync pages, or a durable plain session. */
int load_run_catchup(const struct load_options *o, const struct load_roster *r);

/* As many idle subscribed connections as allowed; memory per connection. */
int load_run_idle(const struct load_options *o, const struct load_roster *r);

#endif
