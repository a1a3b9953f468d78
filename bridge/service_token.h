/*
 * The bridge's password: the token `chatctl init` writes to the service
 * token file. Read at start-up and again before every reconnect, so a
 * token replaced by `chatctl init` is picked up without a restart.
 */
#ifndef BRIDGE_SERVICE_TOKEN_H
#define BRIDGE_SERVICE_TOKEN_H

#include <stddef.h>

/* Reads the file's first line, without its line end, into out. Returns 0,
 * or -1 after logging why. */
int bridge_read_service_token(const char *path, char *out, size_t outlen);

#endif
