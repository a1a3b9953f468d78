/*
 * Readiness: the server is ready when a probe user's client gets an "ok"
 * answer to a ping, which needs the broker, the plugin, the bridge and the
 * store all working.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define PROBE_ATTEMPT_MS 1000
#define PROBE_PAUSE_MS   50

static bool parts_alive(struct chat_server *srv)
{
	if (!test_process_alive(&srv->broker)) {
		test_log("the broker exited (wait status %d) in %s",
		         srv->broker.status, srv->dir);
		return false;
	}
	if (!test_process_alive(&srv->bridge)) {
		test_log("the bridge exited (wait status %d) in %s",
		         srv->bridge.status, srv->dir);
		return false;
	}
	return true;
}

static struct test_client *connect_probe(struct chat_server *srv)
{
	struct test_client_options o = {0};
	struct test_client *probe = NULL;
	char client_id[64];

	snprintf(client_id, sizeof(client_id), "probe-%d", ++srv->probe_count);
	o.user = "probe";
	o.password = srv->probe_token;
	o.client_id = client_id;
	o.subscribe_inbox = true;
	test_client_connect(srv, &o, &probe);
	return probe;
}

static bool ping_ok(struct test_client *probe)
{
	cJSON *resp =
	    test_client_request(probe, PROBE_ATTEMPT_MS, "{\"op\":\"ping\"}");

	return resp && cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok"));
}

int chat_server_wait_ready(struct chat_server *srv, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	struct test_client *probe = NULL;
	bool ready = false;

	while (!ready && test_now_ms() < deadline && parts_alive(srv)) {
		if (probe == NULL)
			probe = connect_probe(srv);
		if (probe != NULL)
			ready = ping_ok(probe);
		if (probe != NULL && !ready && !test_client_connected(probe)) {
			test_client_close(probe);
			probe = NULL;
		}
		if (!ready)
			test_sleep_ms(PROBE_PAUSE_MS);
	}
	if (probe != NULL)
		test_client_close(probe);
	if (!ready)
		test_log("server in %s not ready within %d ms", srv->dir,
		         timeout_ms);
	return ready ? 0 : -1;
}
