#include "service_token.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int bridge_read_service_token(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL) {
		bridge_error("cannot read the service token from %s: %s", path,
		             strerror(errno));
		return -1;
	}
	if (fgets(out, (int)outlen, f) == NULL)
		out[0] = '\0';
	fclose(f);
	len = strcspn(out, "\r\n");
	out[len] = '\0';
	if (len == 0) {
		bridge_error("the service token file %s is empty", path);
		return -1;
	}
	return 0;
}
